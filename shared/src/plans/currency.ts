import { z } from 'zod';

/** ISO 4217 codes as Node's ICU knows them, the same list on every instance of one Node version. */
export const CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

/** An ISO 4217 currency code, upper case as the standard writes it: `usd` and `ZZZ` are refused. */
export const Currency = z
  .string()
  .regex(/^[A-Z]{3}$/, 'must be an upper-case ISO 4217 code such as EUR')
  .refine((code) => CURRENCIES.has(code), 'is not an ISO 4217 currency');

/** An amount of money in integer minor units (cents): never negative, fractional or beyond exact doubles. */
export const AmountMinor = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
