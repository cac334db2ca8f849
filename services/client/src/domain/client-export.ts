import { Transform, type Writable } from 'node:stream';
import { recordEncoder, streamCursor, type Actor, type TenantPoolCache, type TransferFormat } from '@codex/shared';
import { customFieldNames, streamClientRows } from '../db/client-transfer-repo';
import { toClient, type Client, type ClientRow } from '../db/clients-repo';
import { csvHeader, toCsvCells, toRecord } from './client-records';

/**
 * Streams every live client as CSV or JSON lines, straight from a database
 * cursor to the response (backpressure included; nothing is buffered whole).
 */
export async function exportClients(tenants: TenantPoolCache, actor: Actor, format: TransferFormat, out: Writable): Promise<void> {
  await tenants.transaction(actor.tenantId, async (db) => {
    const customColumns = format === 'csv' ? await customFieldNames(db) : [];
    const toClients = new Transform({ objectMode: true, transform: (row: ClientRow, _e, done) => done(null, toClient(row)) });
    const encode = recordEncoder<Client>(format, { header: csvHeader(customColumns), row: (client) => toCsvCells(client, customColumns) });
    const jsonForm = format === 'jsonl' ? [new Transform({ objectMode: true, transform: (client: Client, _e, done) => done(null, toRecord(client)) })] : [];
    await streamCursor(db, () => streamClientRows(db), [toClients, ...jsonForm, ...encode], out);
  });
}
