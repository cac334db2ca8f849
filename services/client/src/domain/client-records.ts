import { blankAsNull, restoreFormula } from '@codex/shared';
import { z } from 'zod';
import type { Client, ClientInput } from '../db/clients-repo';
import { CLIENT_KINDS, CLIENT_STATUSES } from './client-fields';

/**
 * The one flat shape clients are exported in and imported from, so an export
 * imports back to identical data. In CSV, tags are joined with `;` and each
 * custom field is a `cf.<name>` column holding a JSON value.
 */
export const BASE_COLUMNS = ['externalId', 'name', 'email', 'phone', 'kind', 'status', 'tags', 'ownerId'] as const;
const CUSTOM_PREFIX = 'cf.';

const customValue = z.union([z.string().max(1_000), z.number().finite(), z.boolean(), z.null()]);

/** One imported row, already in JSON form (from JSONL, or decoded from CSV). */
export const ImportRow = z.strictObject({
  externalId: blankAsNull(z.string().trim().min(1).max(200)),
  name: z.string().trim().min(1).max(300),
  email: blankAsNull(z.string().trim().max(254).pipe(z.email())),
  phone: blankAsNull(z.string().trim().max(50)),
  kind: blankAsNull(z.enum(CLIENT_KINDS)).transform((v) => v ?? 'company'),
  status: blankAsNull(z.enum(CLIENT_STATUSES)).transform((v) => v ?? 'active'),
  tags: z.array(z.string().trim().min(1).max(50)).max(50).default([]),
  ownerId: blankAsNull(z.uuid()),
  customFields: z
    .record(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/), customValue)
    .refine((fields) => Object.keys(fields).length <= 50, 'at most 50 custom fields')
    .default({}),
});

export type ImportedClient = z.infer<typeof ImportRow> & ClientInput;

/** A CSV record (column → text) → the JSON form ImportRow validates. */
export function fromCsvRecord(record: Record<string, string>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  const customFields: Record<string, unknown> = {};
  for (const [column, raw] of Object.entries(record)) {
    const value = restoreFormula(raw);
    if (column.startsWith(CUSTOM_PREFIX)) {
      if (value === '') continue;
      try {
        customFields[column.slice(CUSTOM_PREFIX.length)] = JSON.parse(value);
      } catch {
        customFields[column.slice(CUSTOM_PREFIX.length)] = value;
      }
    } else if (column === 'tags') {
      row.tags = value
        .split(';')
        .map((tag) => tag.trim())
        .filter(Boolean);
    } else {
      row[column] = value;
    }
  }
  if (Object.keys(customFields).length > 0) row.customFields = customFields;
  return row;
}

/** A client → its exported JSON form. */
export function toRecord(client: Client): Record<string, unknown> {
  return {
    externalId: client.externalId,
    name: client.name,
    email: client.email,
    phone: client.phone,
    kind: client.kind,
    status: client.status,
    tags: client.tags,
    ownerId: client.ownerId,
    customFields: client.customFields,
  };
}

/** A client → the cells of one CSV record (base columns, then `customColumns`). */
export function toCsvCells(client: Client, customColumns: string[]): Array<string | null> {
  const base = [client.externalId, client.name, client.email, client.phone, client.kind, client.status, client.tags.join(';'), client.ownerId];
  const custom = customColumns.map((name) => (name in client.customFields ? JSON.stringify(client.customFields[name]) : null));
  return [...base, ...custom];
}

export function csvHeader(customColumns: string[]): string[] {
  return [...BASE_COLUMNS, ...customColumns.map((name) => `${CUSTOM_PREFIX}${name}`)];
}
