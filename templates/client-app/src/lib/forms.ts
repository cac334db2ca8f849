'use client';

import { CodexApiError } from '@codex-metatron/sdk';

/** `VALIDATION_FAILED`'s problems by field, or none. */
export const fieldErrorsOf = (error: unknown): Record<string, string> => (error instanceof CodexApiError ? error.fieldErrors() : {});
