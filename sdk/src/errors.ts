/** The body every error answer of the platform has. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown; requestId: string };
}

/** One field's problem, as `VALIDATION_FAILED` lists them. */
export interface FieldProblem {
  path: string;
  message: string;
}

const isErrorBody = (value: unknown): value is ErrorBody =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as ErrorBody).error === 'object' &&
  typeof (value as ErrorBody).error?.code === 'string' &&
  typeof (value as ErrorBody).error?.message === 'string';

/**
 * An error answer of the platform: its HTTP status, the stable `code`
 * (`VALIDATION_FAILED`, `NOT_FOUND`, `VERSION_CONFLICT`, …), the message,
 * the `details` and the `requestId` to quote to the operator.
 */
export class CodexApiError extends Error {
  override readonly name = 'CodexApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
    readonly requestId: string | undefined,
    /** Seconds the server asked to wait (Retry-After), when it said. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** The error a response carries; a body that is not the platform's error shape still gives status and text. */
  static async fromResponse(response: Response): Promise<CodexApiError> {
    const text = await response.text().catch(() => '');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const retryAfter = retryAfterSeconds(response.headers.get('retry-after'));
    if (isErrorBody(body)) {
      return new CodexApiError(response.status, body.error.code, body.error.message, body.error.details, body.error.requestId, retryAfter);
    }
    return new CodexApiError(response.status, `HTTP_${response.status}`, text.slice(0, 200) || response.statusText, undefined, undefined, retryAfter);
  }

  /** `VALIDATION_FAILED`'s problems by field, `body.` left off (`{ email: 'invalid' }`), for showing beside form fields. */
  fieldErrors(): Record<string, string> {
    if (!Array.isArray(this.details)) return {};
    const fields: Record<string, string> = {};
    for (const problem of this.details as FieldProblem[]) {
      if (typeof problem?.path !== 'string' || typeof problem.message !== 'string') continue;
      fields[problem.path.replace(/^body\./, '')] ??= problem.message;
    }
    return fields;
  }
}

/** The platform could not be reached (connection refused, reset, DNS) after the retries allowed. */
export class CodexNetworkError extends Error {
  override readonly name = 'CodexNetworkError';
}

/** Whether `error` is an answer of the platform, optionally with this `code`. */
export function isCodexApiError(error: unknown, code?: string): error is CodexApiError {
  return error instanceof CodexApiError && (code === undefined || error.code === code);
}

/** `Retry-After` in seconds (a number of seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}
