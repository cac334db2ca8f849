import {
  ErrorCode,
  assertActsOnAllRecords,
  AppError,
  matchIdentity,
  RowBatcher,
  writeBatchIsolatingRows,
  type Actor,
  type PoolClient,
  type RowError,
  type TenantPoolCache,
} from '@codex/shared';
import {
  contactsAfter,
  discardStagedContactRows,
  stageContactRows,
  stagedContactRows,
  upsertContacts,
  type ImportedContactRow,
} from '../db/contact-import-repo';
import { ImportedContact } from './contact-fields';

/** Rows per statement when writing, and per page when reading staged rows. */
const BATCH_SIZE = 500;

/** One record of an import file as the client service read it: its line, and the record in JSON form. */
export interface FileRecord {
  line: number;
  record: Record<string, unknown>;
}

export interface ImportOutcome {
  inserted: number;
  updated: number;
  /** Rows that were not written (each has one or more errors). */
  rowsFailed: number;
  errors: RowError[];
}

/** Validates each record; the valid ones come back as rows, the others as errors by line and field. */
function validate(records: FileRecord[]): { rows: ImportedContactRow[]; outcome: ImportOutcome } {
  const rows: ImportedContactRow[] = [];
  const outcome: ImportOutcome = { inserted: 0, updated: 0, rowsFailed: 0, errors: [] };
  for (const { line, record } of records) {
    const parsed = ImportedContact.safeParse(record);
    if (parsed.success) {
      rows.push({ ...parsed.data, line });
    } else {
      outcome.rowsFailed += 1;
      outcome.errors.push(...parsed.error.issues.slice(0, 5).map((issue) => ({ line, field: issue.path.join('.') || undefined, message: issue.message })));
    }
  }
  return { rows, outcome };
}

/** Writes rows in file order inside `tx`; rows the database refuses are reported, the rest are written. */
async function writeRows(tx: PoolClient, rows: ImportedContactRow[], actor: Actor, outcome: ImportOutcome): Promise<void> {
  for (const batch of RowBatcher.split(rows, BATCH_SIZE, matchIdentity)) {
    const written = await writeBatchIsolatingRows(tx, batch, (some) => upsertContacts(tx, some, actor.userId), 'contact');
    outcome.inserted += written.inserted;
    outcome.updated += written.updated;
    outcome.rowsFailed += new Set(written.errors.map((e) => e.line)).size;
    outcome.errors.push(...written.errors);
  }
}

/**
 * Imports one batch of contact records now: each is validated, then upserted
 * by external id, else email (a rerun changes nothing); bad rows are reported
 * by line and the good ones written.
 */
export async function importContacts(tenants: TenantPoolCache, actor: Actor, records: FileRecord[]): Promise<ImportOutcome> {
  assertActsOnAllRecords(actor, 'Imports and exports');
  const { rows, outcome } = validate(records);
  if (rows.length) await tenants.transaction(actor.tenantId, (tx) => writeRows(tx, rows, actor, outcome));
  return outcome;
}

/** For an all-or-nothing import: validates a batch and keeps its valid rows until `commitStagedContacts`. */
export async function stageContacts(tenants: TenantPoolCache, actor: Actor, importId: string, records: FileRecord[]): Promise<ImportOutcome> {
  assertActsOnAllRecords(actor, 'Imports and exports');
  const { rows, outcome } = validate(records);
  if (rows.length) await tenants.withClient(actor.tenantId, (db) => stageContactRows(db, importId, rows));
  return outcome;
}

/**
 * Applies every staged row of an import in one transaction, in file order.
 * If the database refuses any row, nothing is written: 422 with each refused
 * row. Either way the staged rows are gone afterwards.
 */
export async function commitStagedContacts(tenants: TenantPoolCache, actor: Actor, importId: string): Promise<ImportOutcome> {
  assertActsOnAllRecords(actor, 'Imports and exports');
  const outcome: ImportOutcome = { inserted: 0, updated: 0, rowsFailed: 0, errors: [] };
  try {
    await tenants.transaction(actor.tenantId, async (tx) => {
      // One long write of many statements: it gets its own limit, not the pool's per-query one.
      await tx.query(`SET LOCAL statement_timeout = '30min'`);
      let afterLine = 0;
      for (;;) {
        const page = await stagedContactRows(tx, importId, afterLine, BATCH_SIZE);
        if (page.length === 0) break;
        await writeRows(tx, page, actor, outcome);
        afterLine = page[page.length - 1]!.line;
      }
      if (outcome.rowsFailed > 0) {
        throw new AppError(ErrorCode.IMPORT_REJECTED, 422, 'Some rows were refused; nothing was imported (atomic)', { rowsFailed: outcome.rowsFailed, errors: outcome.errors });
      }
      await discardStagedContactRows(tx, importId);
    });
  } catch (err) {
    await discardStaged(tenants, actor, importId);
    throw err;
  }
  return outcome;
}

export async function discardStaged(tenants: TenantPoolCache, actor: Actor, importId: string): Promise<void> {
  await tenants.withClient(actor.tenantId, (db) => discardStagedContactRows(db, importId));
}

/** A page of live contacts in id order, for export; `next` is the cursor of the following page. */
export async function exportPage(tenants: TenantPoolCache, actor: Actor, after: string | null, limit: number) {
  assertActsOnAllRecords(actor, 'Imports and exports');
  const page = await tenants.withClient(actor.tenantId, (db) => contactsAfter(db, after, limit));
  return { items: page.live, next: page.full ? page.lastId : null };
}
