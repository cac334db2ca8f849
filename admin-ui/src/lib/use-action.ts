'use client';

import { useState } from 'react';
import { ApiError } from './api';

/** One button's call: busy while it runs, the API's error kept for display, nothing thrown at React. */
export function useAction() {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  async function run<T>(name: string, action: () => Promise<T>): Promise<T | undefined> {
    setBusy(name);
    setError(null);
    try {
      return await action();
    } catch (err) {
      if (err instanceof ApiError) setError(err);
      else throw err;
      return undefined;
    } finally {
      setBusy(null);
    }
  }
  return { busy, error, run, clearError: () => setError(null) };
}
