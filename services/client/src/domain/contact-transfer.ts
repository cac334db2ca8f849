import { randomUUID } from 'node:crypto';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCode, AppError, type Actor, type ContactView, type RowError, type ServiceClient, type ServiceResponse, type TenantPoolCache, type UpsertCounts } from '@codex/shared';
import { stringify } from 'csv-stringify';
import { z } from 'zod';
import { findClientKeys, type ClientKeys } from '../db/client-transfer-repo';
import { CLIENT_REFERENCES, CONTACT_COLUMNS, toContactCsvRecord, toContactRecord, type ClientReference, } from './contact-records';
import { atomicRejection, type FileRecord, type ImportRun, type ImportWriter } from './import-file';

/** Records per call to the CRM, and the most bytes of them (its JSON body limit is 1 MB). */
const BATCH_SIZE = 500;
const MAX_BATCH_BYTES = 512 * 1024;
/** A contact's fields fit in ~1 KB; a record far beyond that cannot be one. */
const MAX_RECORD_BYTES = 8 * 1024;
/** Applying a whole atomic import is one long write, so its call may take longer than the usual 30 s. */
const COMMIT_TIMEOUT_MS = 10 * 60_000;
const isUuid = (value: string) => z.uuid().safeParse(value).success;

interface CrmOutcome extends UpsertCounts {
  rowsFailed: number;
  errors: RowError[];
}

const identityOf = (actor: Actor) => ({ tenantId: actor.tenantId, userId: actor.userId, roles: actor.roles });

const referenceOf = (record: Record<string, unknown>, column: ClientReference): string | undefined => {
  const value = record[column];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
};

/**
 * Replaces each record's client reference (external id, email or id of a
 * client, the first one given) with the client's id, looked up in this
 * tenant's clients; a reference to no live client fails its row.
 */
async function linkClients(tenants: TenantPoolCache, actor: Actor, batch: FileRecord[], run: ImportRun): Promise<FileRecord[]> {
  const wanted = { externalIds: new Set<string>(), emails: new Set<string>(), ids: new Set<string>() };
  for (const { value } of batch) {
    const [externalId, email, id] = CLIENT_REFERENCES.map((column) => referenceOf(value, column));
    if (externalId) wanted.externalIds.add(externalId);
    else if (email) wanted.emails.add(email.toLowerCase());
    else if (id && isUuid(id)) wanted.ids.add(id.toLowerCase());
  }
  const found: ClientKeys[] =
    wanted.externalIds.size + wanted.emails.size + wanted.ids.size === 0
      ? []
      : await tenants.withClient(actor.tenantId, (db) => findClientKeys(db, { externalIds: [...wanted.externalIds], emails: [...wanted.emails], ids: [...wanted.ids] }));
  const byReference: Record<ClientReference, Map<string, string>> = {
    clientExternalId: new Map(found.filter((c) => c.externalId).map((c) => [c.externalId!, c.id])),
    clientEmail: new Map(found.filter((c) => c.email).map((c) => [c.email!.toLowerCase(), c.id])),
    clientId: new Map(found.map((c) => [c.id, c.id])),
  };

  const linked: FileRecord[] = [];
  for (const { line, value } of batch) {
    const { clientExternalId: _externalId, clientEmail: _email, clientId: _id, ...contact } = value;
    const column = CLIENT_REFERENCES.find((c) => referenceOf(value, c) !== undefined);
    if (!column) {
      linked.push({ line, value: { ...contact, clientId: null } });
      continue;
    }
    const reference = referenceOf(value, column)!;
    const clientId = byReference[column].get(column === 'clientExternalId' ? reference : reference.toLowerCase());
    if (clientId) linked.push({ line, value: { ...contact, clientId } });
    else run.fail({ line, field: column, message: column === 'clientId' && !isUuid(reference) ? 'must be a UUID' : 'no such client' });
  }
  return linked;
}

/**
 * Writes imported contacts through the CRM, which owns them: records go over
 * REST in batches (service JWT, timeout, breaker) after their client links
 * are resolved here. The CRM validates and upserts them by external id, else
 * email. An atomic import has the CRM keep every batch and apply them all in
 * one transaction at the end, so nothing is written unless every row is good.
 */
export function contactWriter(tenants: TenantPoolCache, crm: ServiceClient, actor: Actor, atomic: boolean): ImportWriter {
  const identity = identityOf(actor);
  const importId = randomUUID();

  return async (records, run) => {
    let batch: FileRecord[] = [];
    let batchBytes = 0;
    const send = async () => {
      const linked = await linkClients(tenants, actor, batch, run);
      batch = [];
      batchBytes = 0;
      if (linked.length > 0) {
        const { data } = await crm.request<CrmOutcome>({
          method: 'POST',
          path: atomic ? `/internal/contacts/imports/${importId}/rows` : '/internal/contacts/import',
          body: { records: linked.map(({ line, value }) => ({ line, record: value })) },
          identity,
        });
        run.count(data);
        run.progress.rowsFailed += data.rowsFailed;
        run.report(data.errors);
      }
      await run.saveProgress();
    };

    try {
      for await (const record of records) {
        const bytes = Buffer.byteLength(JSON.stringify(record.value));
        if (bytes > MAX_RECORD_BYTES) {
          run.fail({ line: record.line, message: `a contact row is at most ${MAX_RECORD_BYTES} bytes` });
          continue;
        }
        if (batchBytes + bytes > MAX_BATCH_BYTES) await send();
        batch.push(record);
        batchBytes += bytes;
        if (batch.length >= BATCH_SIZE) await send();
      }
      if (batch.length > 0) await send();
      if (!atomic) return;
      if (run.progress.rowsFailed > 0) throw atomicRejection();
      const { data } = await crm.request<CrmOutcome>({ method: 'POST', path: `/internal/contacts/imports/${importId}/commit`, identity, timeoutMs: COMMIT_TIMEOUT_MS });
      run.count(data);
    } catch (err) {
      if (atomic) {
        // The CRM drops kept rows on a failed commit itself; this covers failures before it. Best effort:
        // kept rows left behind are dropped by the CRM a day later.
        await crm.request({ method: 'DELETE', path: `/internal/contacts/imports/${importId}`, identity }).catch(() => undefined);
        const refused = err instanceof AppError && err.code === ErrorCode.IMPORT_REJECTED ? (err.details as Partial<CrmOutcome> | undefined) : undefined;
        if (refused?.errors) {
          run.progress.rowsFailed += refused.rowsFailed ?? 0;
          run.report(refused.errors);
        }
      }
      throw err;
    }
  };
}

/**
 * Streams every live contact (kept by the CRM, read from it a page at a time)
 * as CSV or JSON lines in the import format, each naming its client by
 * external id, email and id so it links again in a fresh tenant.
 */
export async function exportContacts(tenants: TenantPoolCache, crm: ServiceClient, actor: Actor, format: 'csv' | 'jsonl', out: Writable): Promise<void> {
  const identity = identityOf(actor);
  type Page = ServiceResponse<{ items: ContactView[]; next: string | null }>;
  const fetchPage = (after?: string): Promise<Page> => crm.request({ path: '/internal/contacts/export', query: { after, limit: BATCH_SIZE }, identity });
  async function* contactRecords() {
    let pending: Promise<Page> | undefined = fetchPage();
    while (pending) {
      const { data }: Page = await pending;
      // The next page is read while this one is written out; if the download stops early, its answer is simply dropped.
      pending = data.next ? fetchPage(data.next) : undefined;
      pending?.catch(() => undefined);
      const clientIds = [...new Set(data.items.map((c) => c.clientId).filter((id): id is string => Boolean(id)))];
      const clients = clientIds.length ? await tenants.withClient(actor.tenantId, (db) => findClientKeys(db, { externalIds: [], emails: [], ids: clientIds })) : [];
      const byId = new Map(clients.map((c) => [c.id, c]));
      for (const contact of data.items) yield toContactRecord(contact, contact.clientId ? byId.get(contact.clientId) : undefined);
    }
  }
  const encode =
    format === 'csv'
      ? [new Transform({ objectMode: true, transform: (record, _e, done) => done(null, toContactCsvRecord(record)) }), stringify({ header: true, columns: [...CONTACT_COLUMNS] })]
      : [new Transform({ writableObjectMode: true, transform: (record, _e, done) => done(null, `${JSON.stringify(record)}\n`) })];
  await pipeline(Readable.from(contactRecords()), ...(encode as [Transform]), out);
}
