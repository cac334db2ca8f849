import { BASE_PATH } from './base-path';

/** An error answer of the platform (or of the console's server), with what it said. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly requestId?: string,
  ) {
    super(message);
  }

  /** Per-field messages from a validation answer's `details` ({ path, message }[] or { field: message }). */
  fieldErrors(): Record<string, string> {
    const fields: Record<string, string> = {};
    if (Array.isArray(this.details)) {
      for (const issue of this.details as Array<{ path?: unknown; field?: unknown; message?: unknown }>) {
        // The platform names a field by the request part it is in: `body.slug` is the form's `slug`.
        const path = (Array.isArray(issue.path) ? issue.path.join('.') : String(issue.path ?? issue.field ?? '')).replace(/^(body|query|params)\./, '');
        if (path && typeof issue.message === 'string' && !fields[path]) fields[path] = issue.message;
      }
    } else if (this.details && typeof this.details === 'object') {
      for (const [field, message] of Object.entries(this.details)) if (typeof message === 'string') fields[field] = message;
    }
    return fields;
  }
}

/** Where a 401 sends the browser: the sign-in, and back here after. */
export function signInUrl(): string {
  const here = window.location.pathname.slice(BASE_PATH.length) + window.location.search;
  return `${BASE_PATH}/sign-in${here && here !== '/' ? `?next=${encodeURIComponent(here)}` : ''}`;
}

async function readError(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string; details?: unknown; requestId?: string } } | null;
  const error = body?.error;
  return new ApiError(response.status, error?.code ?? 'HTTP_' + response.status, error?.message ?? response.statusText, error?.details, error?.requestId);
}

/**
 * A call from the browser to the console's server (`/console/api/...`), which adds the session. A 401
 * means the session is over: the browser goes to the sign-in and comes back to this page after it.
 */
export async function api<T = unknown>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(`${BASE_PATH}/api/${path.replace(/^\//, '')}`, {
    method: init.method ?? 'GET',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    credentials: 'same-origin',
  });
  if (response.status === 401 && !path.startsWith('session')) {
    window.location.assign(signInUrl());
    throw await readError(response);
  }
  if (!response.ok) throw await readError(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** The platform's API through the console: `gw('admin/tenants')` is the gateway's `/api/v1/admin/tenants`. */
export const gw = <T = unknown>(path: string, init?: { method?: string; body?: unknown }) => api<T>(`gateway/${path.replace(/^\//, '')}`, init);

/** SWR's fetcher: keys are paths under `/console/api/`. */
export const fetcher = <T>(path: string) => api<T>(path);
