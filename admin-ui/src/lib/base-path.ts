/** Where the console lives on the platform's host (nginx routes it here); every browser-side URL starts with it. */
export const BASE_PATH = '/console';
