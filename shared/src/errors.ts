/**
 * Stable machine-readable error codes. Clients and the console rely on these;
 * add new ones, never rename existing ones.
 */
export const ErrorCode = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  INVALID_JSON: 'INVALID_JSON',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  UPSTREAM_TIMEOUT: 'UPSTREAM_TIMEOUT',
  UPSTREAM_ERROR: 'UPSTREAM_ERROR',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL: 'INTERNAL',
  // Domain codes: a client can rely on each to mean one thing.
  ACCOUNT_INACTIVE: 'ACCOUNT_INACTIVE',
  ARCHIVE_INVALID: 'ARCHIVE_INVALID',
  ACTIVITY_NOT_FOUND: 'ACTIVITY_NOT_FOUND',
  ADMIN_NOT_FOUND: 'ADMIN_NOT_FOUND',
  API_KEY_INACTIVE: 'API_KEY_INACTIVE',
  API_KEY_NOT_FOUND: 'API_KEY_NOT_FOUND',
  CALLER_NOT_ALLOWED: 'CALLER_NOT_ALLOWED',
  CLIENT_EXISTS: 'CLIENT_EXISTS',
  CLIENT_NOT_DELETED: 'CLIENT_NOT_DELETED',
  CLIENT_NOT_FOUND: 'CLIENT_NOT_FOUND',
  CONTACT_EXISTS: 'CONTACT_EXISTS',
  CONFIG_VERSION_NOT_FOUND: 'CONFIG_VERSION_NOT_FOUND',
  CONTACT_NOT_FOUND: 'CONTACT_NOT_FOUND',
  CONTENT_NOT_FOUND: 'CONTENT_NOT_FOUND',
  CONTENT_SLUG_TAKEN: 'CONTENT_SLUG_TAKEN',
  DATABASE_SERVER_NOT_FOUND: 'DATABASE_SERVER_NOT_FOUND',
  DATABASE_SERVER_UNAVAILABLE: 'DATABASE_SERVER_UNAVAILABLE',
  DEAL_ALREADY_IN_STAGE: 'DEAL_ALREADY_IN_STAGE',
  DEAL_NOT_FOUND: 'DEAL_NOT_FOUND',
  FEATURE_NOT_IN_PLAN: 'FEATURE_NOT_IN_PLAN',
  FLAG_EXISTS: 'FLAG_EXISTS',
  FLAG_NOT_FOUND: 'FLAG_NOT_FOUND',
  EMAIL_TAKEN: 'EMAIL_TAKEN',
  IDEMPOTENCY_IN_PROGRESS: 'IDEMPOTENCY_IN_PROGRESS',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  IMPORT_NOT_FOUND: 'IMPORT_NOT_FOUND',
  IMPORT_REJECTED: 'IMPORT_REJECTED',
  INVALID_API_KEY: 'INVALID_API_KEY',
  INVOICE_NOT_FOUND: 'INVOICE_NOT_FOUND',
  INVOICE_STATE: 'INVOICE_STATE',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  INVALID_INVITATION: 'INVALID_INVITATION',
  INVALID_REFRESH_TOKEN: 'INVALID_REFRESH_TOKEN',
  INVALID_SERVICE_TOKEN: 'INVALID_SERVICE_TOKEN',
  INVALID_TOKEN: 'INVALID_TOKEN',
  LAST_OWNER: 'LAST_OWNER',
  LAST_SUPER_ADMIN: 'LAST_SUPER_ADMIN',
  METRIC_EXISTS: 'METRIC_EXISTS',
  MFA_ALREADY_ENABLED: 'MFA_ALREADY_ENABLED',
  MFA_CHALLENGE_INVALID: 'MFA_CHALLENGE_INVALID',
  MFA_CHALLENGE_LOCKED: 'MFA_CHALLENGE_LOCKED',
  MFA_CODE_INVALID: 'MFA_CODE_INVALID',
  MFA_ENROLMENT_REQUIRED: 'MFA_ENROLMENT_REQUIRED',
  MFA_NOT_ENABLED: 'MFA_NOT_ENABLED',
  MFA_NOT_ENROLLING: 'MFA_NOT_ENROLLING',
  MFA_REQUIRED: 'MFA_REQUIRED',
  MFA_REQUIRED_BY_PLATFORM: 'MFA_REQUIRED_BY_PLATFORM',
  NOT_YOUR_RECORD: 'NOT_YOUR_RECORD',
  OWNER_REQUIRED: 'OWNER_REQUIRED',
  PASSWORD_TOKEN_INVALID: 'PASSWORD_TOKEN_INVALID',
  PIPELINE_EXISTS: 'PIPELINE_EXISTS',
  PIPELINE_NOT_FOUND: 'PIPELINE_NOT_FOUND',
  PAYMENT_IN_PROGRESS: 'PAYMENT_IN_PROGRESS',
  PAYMENT_NOT_FOUND: 'PAYMENT_NOT_FOUND',
  PAYMENT_PROVIDER_NOT_CONFIGURED: 'PAYMENT_PROVIDER_NOT_CONFIGURED',
  PLAN_EXISTS: 'PLAN_EXISTS',
  PLAN_LIMIT_REACHED: 'PLAN_LIMIT_REACHED',
  PLAN_NOT_FOUND: 'PLAN_NOT_FOUND',
  PLAN_USAGE_OVER_LIMIT: 'PLAN_USAGE_OVER_LIMIT',
  PRICE_NOT_FOUND: 'PRICE_NOT_FOUND',
  PRODUCT_NOT_FOUND: 'PRODUCT_NOT_FOUND',
  PRECONDITION_REQUIRED: 'PRECONDITION_REQUIRED',
  PROVISIONING_IN_PROGRESS: 'PROVISIONING_IN_PROGRESS',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  REFRESH_TOKEN_REUSED: 'REFRESH_TOKEN_REUSED',
  REFUND_EXCEEDS_PAYMENT: 'REFUND_EXCEEDS_PAYMENT',
  SIGNUP_CLOSED: 'SIGNUP_CLOSED',
  STAGE_IN_USE: 'STAGE_IN_USE',
  SERVICE_NOT_FOUND: 'SERVICE_NOT_FOUND',
  SUBSCRIPTION_NOT_FOUND: 'SUBSCRIPTION_NOT_FOUND',
  SUBSCRIPTION_STATE: 'SUBSCRIPTION_STATE',
  TENANT_ALREADY_THERE: 'TENANT_ALREADY_THERE',
  TENANT_IMPORT_NOT_FOUND: 'TENANT_IMPORT_NOT_FOUND',
  TENANT_MISMATCH: 'TENANT_MISMATCH',
  TENANT_NOT_DELETING: 'TENANT_NOT_DELETING',
  TENANT_NOT_FOUND: 'TENANT_NOT_FOUND',
  TENANT_NOT_READY: 'TENANT_NOT_READY',
  TENANT_SLUG_TAKEN: 'TENANT_SLUG_TAKEN',
  TENANT_SUSPENDED: 'TENANT_SUSPENDED',
  USER_INVITED: 'USER_INVITED',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  VERSION_CONFLICT: 'VERSION_CONFLICT',
  WEBHOOK_SIGNATURE_INVALID: 'WEBHOOK_SIGNATURE_INVALID',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

const ERROR_CODES = new Set<string>(Object.values(ErrorCode));
/** Whether a string (e.g. read off another service's answer) is one of our codes. */
export const isErrorCode = (value: unknown): value is ErrorCodeValue => typeof value === 'string' && ERROR_CODES.has(value);

/** The one error type the platform throws; the error middleware turns it into the standard body. */
export class AppError extends Error {
  readonly code: ErrorCodeValue;
  readonly status: number;
  readonly details?: unknown;
  /** Extra response headers, e.g. `Retry-After`. */
  readonly headers?: Record<string, string>;

  constructor(code: ErrorCodeValue, status: number, message: string, details?: unknown, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = details;
    this.headers = options?.headers;
  }
}

/** One entry of a validation failure: where and why. */
export interface FieldIssue {
  path: string;
  message: string;
}

export class ValidationError extends AppError {
  constructor(message = 'Request validation failed', details?: FieldIssue[] | unknown, cause?: unknown) {
    super(ErrorCode.VALIDATION_FAILED, 400, message, details, { cause });
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Authentication required', code: ErrorCodeValue = ErrorCode.UNAUTHORIZED) {
    super(code, 401, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed', code: ErrorCodeValue = ErrorCode.FORBIDDEN) {
    super(code, 403, message);
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not found', code: ErrorCodeValue = ErrorCode.NOT_FOUND) {
    super(code, 404, message);
  }
}

export class ConflictError extends AppError {
  constructor(message = 'Conflict', details?: unknown, code: ErrorCodeValue = ErrorCode.CONFLICT, cause?: unknown) {
    super(code, 409, message, details, { cause });
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number, message = 'Too many requests') {
    super(ErrorCode.RATE_LIMITED, 429, message, undefined, {
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    });
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message = 'Service temporarily unavailable', cause?: unknown, retryAfterSeconds = 1) {
    super(ErrorCode.SERVICE_UNAVAILABLE, 503, message, undefined, { cause, headers: { 'Retry-After': String(retryAfterSeconds) } });
  }
}

/** A call to another service failed; `code` tells how (unavailable, timeout, bad answer). */
export class UpstreamError extends AppError {
  constructor(code: ErrorCodeValue, status: number, message: string, cause?: unknown) {
    super(code, status, message, undefined, { cause });
  }
}

interface PgLikeError {
  code?: string;
  constraint?: string;
  detail?: string;
}

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);
/** What the driver says, without a code, of a connection that is gone or could not be had. */
const LOST_CONNECTION = /Connection terminated|not queryable|timeout exceeded when trying to connect|Client was closed/;

/**
 * Maps a PostgreSQL driver error onto an AppError so SQL details never reach a
 * response. Returns the input unchanged when it is not a known database error.
 */
export function translatePgError(err: unknown): unknown {
  if (err instanceof AppError || typeof err !== 'object' || err === null) return err;
  const pgErr = err as PgLikeError;
  const constraint = pgErr.constraint ? { constraint: pgErr.constraint } : undefined;
  switch (pgErr.code) {
    case '23505':
      return new ConflictError('Resource already exists', constraint, ErrorCode.CONFLICT, err);
    case '23503':
      return new ValidationError('Referenced resource does not exist', constraint, err);
    case '57014':
    case '57P01':
    // A tenant database moved to another server: gone from the old one (a pool that had not heard yet).
    case '3D000':
    case '57P03':
    case '53300':
      return new ServiceUnavailableError('Database temporarily unavailable', err);
    default:
      // Classes 22 (data exception: bad encoding, NUL, out-of-range dates and numbers) and 23 (integrity): the row's data.
      if (pgErr.code?.startsWith('22') || pgErr.code?.startsWith('23')) return new ValidationError('Value rejected by a data constraint', constraint, err);
      // A tenant database being moved to another server is closed to connections for the copy.
      if (pgErr.code === '55000' && err instanceof Error && /not currently accepting connections/.test(err.message))
        return new ServiceUnavailableError('The tenant is being moved; try again shortly', err, 2);
      if ((pgErr.code && CONNECTION_ERROR_CODES.has(pgErr.code)) || (err instanceof Error && LOST_CONNECTION.test(err.message))) {
        return new ServiceUnavailableError('Database temporarily unavailable', err);
      }
      return err;
  }
}

/** Whether an error is the database refusing a row's data (class 22 or 23, translated at the data-access edge). */
export function isRowDataError(err: unknown): boolean {
  const code = (err instanceof AppError ? (err.cause as PgLikeError | undefined) : undefined)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/**
 * A unique violation of one of `fields`' constraints (constraint name → field)
 * as 409 `code` naming the field; any other error is returned as is.
 */
export function uniqueConflict(err: unknown, subject: string, code: ErrorCodeValue, fields: Record<string, string>): unknown {
  const constraint = err instanceof ConflictError ? (err.details as { constraint?: unknown } | undefined)?.constraint : undefined;
  const field = typeof constraint === 'string' ? fields[constraint] : undefined;
  return field ? new ConflictError(`Another ${subject} has this ${field}`, { field }, code) : err;
}
