import 'server-only';

/** A setting from the environment (.env.local); the app cannot run without it. */
function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: copy .env.example to .env.local and fill it in`);
  return value;
}

/** The app's server-side settings. The API key and the platform's tokens never reach the browser. */
export const config = {
  get apiUrl() {
    return required('CDX_API_URL').replace(/\/$/, '');
  },
  get apiKey() {
    return required('CDX_API_KEY');
  },
  get secret() {
    return required('NEXTAUTH_SECRET');
  },
  /** Cookies marked Secure (and named `__Secure-…`) when the app is served over https. */
  get secureCookies() {
    return (process.env.NEXTAUTH_URL ?? '').startsWith('https://');
  },
};
