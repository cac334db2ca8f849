import type { RequestHandler } from 'express';
import { z } from 'zod';
import { ValidationError, type FieldIssue } from '../errors';

export interface RequestSchemas {
  body?: z.ZodType;
  query?: z.ZodType;
  params?: z.ZodType;
}

function toIssues(part: string, error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: [part, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/**
 * Parses `value` with `schema` as the API would (outside a request, e.g. in an
 * operator command): 400 VALIDATION_FAILED listing every bad field under `part`.
 */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, part = 'body'): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError('Input validation failed', toIssues(part, result.error));
  return result.data;
}

/**
 * PostgreSQL stores no NUL character in text or JSON: one rule, applied to
 * every string and key of the input before any schema, refuses it as the
 * field's problem (not the database's 500 later).
 */
function unstorableText(value: unknown, path: string, issues: FieldIssue[], depth = 0): void {
  if (issues.length >= 20 || depth > 32) return;
  if (typeof value === 'string') {
    if (value.includes('\u0000')) issues.push({ path, message: 'must not contain the NUL character' });
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) unstorableText(item, `${path}.${index}`, issues, depth + 1);
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000')) issues.push({ path: `${path}.${key.replaceAll('\u0000', '\\0')}`, message: 'names must not contain the NUL character' });
      unstorableText(item, `${path}.${key}`, issues, depth + 1);
    }
  }
}

/**
 * Validates and replaces `req.body`, `req.query` and `req.params` with the
 * parsed values; any failure → 400 VALIDATION_FAILED listing every bad field.
 */
export function validate(schemas: RequestSchemas): RequestHandler {
  return (req, _res, next) => {
    const issues: FieldIssue[] = [];
    for (const part of ['params', 'query', 'body'] as const) if (schemas[part]) unstorableText(req[part], part, issues);
    if (issues.length > 0) {
      next(new ValidationError('Request validation failed', issues));
      return;
    }
    const parsed: Partial<Record<keyof RequestSchemas, unknown>> = {};
    for (const part of ['params', 'query', 'body'] as const) {
      const schema = schemas[part];
      if (!schema) continue;
      const result = schema.safeParse(req[part] ?? (part === 'body' ? undefined : {}));
      if (result.success) parsed[part] = result.data;
      else issues.push(...toIssues(part, result.error));
    }
    if (issues.length > 0) {
      next(new ValidationError('Request validation failed', issues));
      return;
    }
    if ('body' in parsed) req.body = parsed.body;
    if ('params' in parsed) req.params = parsed.params as typeof req.params;
    // Express 5 exposes req.query as a getter; shadow it with the parsed value.
    if ('query' in parsed) Object.defineProperty(req, 'query', { value: parsed.query, writable: true, configurable: true });
    next();
  };
}

/**
 * An optional field of an imported record: blank (a CSV cell left empty) and
 * missing both mean null, anything else must pass `schema`.
 */
export function blankAsNull<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === '' || value === undefined ? null : value), schema.nullable()).default(null);
}

/**
 * A point in time as the API takes it: an ISO 8601 date-time with offset
 * (`2026-12-01T09:30:00Z`) or a date (`2026-12-01`, midnight UTC), parsed to a
 * Date. Four-digit years only, so every value fits both JavaScript and
 * PostgreSQL; numbers and other spellings are refused.
 */
const DATE_TIME = z.iso.datetime({ offset: true });
const DATE = z.iso.date();
/** Years both PostgreSQL (which has no year 0) and every client's date type hold. */
const storableYear = (value: string) => !value.startsWith('0000');
export const Instant = z
  .string()
  .max(40)
  .refine(
    (value) => (DATE_TIME.safeParse(value).success || DATE.safeParse(value).success) && storableYear(value),
    // Aborting: refinements of the enclosing object (from < to, …) must never see the unparsed string.
    { message: 'must be an ISO 8601 date-time (2026-12-01T09:30:00Z) or date (2026-12-01), years 0001-9999', abort: true },
  )
  .transform((value) => new Date(value))
  .describe('ISO 8601 date-time with offset, or a date (midnight UTC)');

/** The email of a sign-in account (tenant user or platform admin); accounts match it case-insensitively. */
export const AccountEmail = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ error: 'must be an email address' }));

/** A calendar date (`2026-12-01`), year 0001–9999, kept as its string. */
export const CalendarDate = z.iso.date().refine(storableYear, 'must be a date in the years 0001-9999');

/** `limit` and `offset` of a list read a page at a time (spread into a route's query schema). */
export const OffsetPage = {
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
};
