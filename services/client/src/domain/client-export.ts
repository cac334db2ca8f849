import { PassThrough, type Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Actor, type TenantPoolCache } from '@codex/shared';
import { stringify } from 'csv-stringify';
import { customFieldNames, streamClientRows } from '../db/client-transfer-repo';
import { toClient, type ClientRow } from '../db/clients-repo';
import { csvHeader, toCsvRecord, toRecord } from './client-records';

/**
 * Streams every live client as CSV or JSON lines, straight from a database
 * cursor to the response (backpressure included; nothing is buffered whole).
 * CSV cells that a spreadsheet would run as formulas are neutralised.
 */
export async function exportClients(tenants: TenantPoolCache, actor: Actor, format: 'csv' | 'jsonl', out: Writable): Promise<void> {
  await tenants.transaction(actor.tenantId, async (db) => {
    // One cursor over the whole table is one long statement: it gets its own limit, not the pool's per-query one.
    await db.query(`SET LOCAL statement_timeout = '30min'`);
    const customColumns = format === 'csv' ? await customFieldNames(db) : [];
    const rows = streamClientRows(db);
    const encode =
      format === 'csv'
        ? [
            new Transform({
              objectMode: true,
              transform: (row: ClientRow, _e, done) => done(null, toCsvRecord(toClient(row), customColumns)),
            }),
            stringify({ header: true, columns: csvHeader(customColumns) }),
          ]
        : [
            new Transform({
              writableObjectMode: true,
              transform: (row: ClientRow, _e, done) => done(null, `${JSON.stringify(toRecord(toClient(row)))}\n`),
            }),
          ];
    await pipeline(rows as unknown as Readable, ...(encode as [Transform]), new PassThrough(), out);
  });
}
