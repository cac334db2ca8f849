import type { Response } from 'express';
import { ErrorCode, AppError, ValidationError } from '../errors';

/** `If-Match: "3"` (or W/"3", or 3) → 3; undefined when the header is absent; 400 when it is not a version. */
export function ifMatchVersion(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = header.trim().match(/^(?:W\/)?"?(\d{1,9})"?$/);
  if (!match) throw new ValidationError('If-Match must be the ETag of the record', [{ path: 'headers.if-match', message: 'invalid' }]);
  return Number(match[1]);
}

/** Sets the record's version as its ETag, the value clients send back in If-Match. */
export function withVersionEtag(res: Response, record: { version: number }): Response {
  return res.set('ETag', `"${record.version}"`);
}

/** The version a write was based on: `If-Match`, else the body's `version`; undefined when neither is sent. */
export function expectedVersion(ifMatch: string | undefined, bodyVersion?: number): number | undefined {
  return ifMatchVersion(ifMatch) ?? bodyVersion;
}

/**
 * The version an update was based on, required: without one, 428
 * PRECONDITION_REQUIRED, so no update can silently overwrite another.
 */
export function requiredVersion(ifMatch: string | undefined, bodyVersion?: number): number {
  const version = expectedVersion(ifMatch, bodyVersion);
  if (version === undefined) {
    throw new AppError(ErrorCode.PRECONDITION_REQUIRED, 428, 'Send If-Match with the ETag you read (or "version") so no update is lost');
  }
  return version;
}
