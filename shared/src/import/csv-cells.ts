import { PassThrough, type Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';

/** Spreadsheet programs run cells starting with these as formulas; exported cells get a leading quote. */
const FORMULA_START = /^[=+\-@\t\r]/;

/** Whether the text after any leading quotes would start a formula. */
const quotedFormula = (value: string) => FORMULA_START.test(value.replace(/^'+/, ''));

/** Adds one leading quote to anything that is, or looks like an escaped, formula; restoreFormula undoes it exactly. */
export function neutraliseFormula(value: string): string {
  return quotedFormula(value) ? `'${value}` : value;
}

/** Undoes neutraliseFormula on an imported cell. */
export function restoreFormula(value: string): string {
  return value.startsWith("'") && quotedFormula(value) ? value.slice(1) : value;
}

export type TransferFormat = 'csv' | 'jsonl';

/** The media types each transfer format is sent and served as. */
export const TRANSFER_MEDIA_TYPES: Record<TransferFormat, readonly string[]> = {
  csv: ['text/csv'],
  jsonl: ['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines'],
};

/**
 * The streams that turn exported records (objects) into a file: JSON lines
 * as they are, or CSV under `header` with each record made a row of cells by
 * `csvRow` (formula-guarded here, so no exporter can forget it).
 */
export function recordEncoder<T>(format: TransferFormat, csv: { header: string[]; row: (record: T) => Array<string | null> }): Transform[] {
  if (format === 'jsonl') {
    return [new Transform({ writableObjectMode: true, transform: (record: T, _e, done) => done(null, `${JSON.stringify(record)}\n`) })];
  }
  return [
    new Transform({
      objectMode: true,
      transform: (record: T, _e, done) =>
        done(
          null,
          csv.row(record).map((cell) => neutraliseFormula(cell ?? '')),
        ),
    }),
    stringify({ header: true, columns: csv.header }),
  ];
}

/**
 * Streams one query cursor through `stages` (records → file) to `out`, with backpressure, nothing held
 * whole. The cursor is one long statement, so its transaction (`tx`) gets a limit of its own first
 * rather than the pool's per-query one.
 */
export async function streamCursor(
  tx: { query(sql: string): Promise<unknown> },
  open: () => NodeJS.ReadableStream,
  stages: Transform[],
  out: Writable,
): Promise<void> {
  await tx.query(`SET LOCAL statement_timeout = '30min'`);
  await pipeline([open() as unknown as Readable, ...stages, new PassThrough(), out]);
}
