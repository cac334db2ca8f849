'use client';

import { CodexApiError } from '@codex-metatron/sdk';

/** An error answer's body → a typed error, so forms show the platform's own field problems. */
export async function errorOf(response: Response): Promise<CodexApiError> {
  return CodexApiError.fromResponse(response);
}

/** `VALIDATION_FAILED`'s problems by field, or none. */
export const fieldErrorsOf = (error: unknown): Record<string, string> => (error instanceof CodexApiError ? error.fieldErrors() : {});
