import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform, type Writable } from 'node:stream';
import {
  Poller,
  recordEncoder,
  streamCursor,
  withTransaction,
  type Logger,
  type Pool,
  type Queryable,
  type SecretKey,
  type TransferFormat,
} from '@codex/shared';
import {
  auditPage,
  chainHead,
  firstLinkBreak,
  hashesAt,
  streamAuditRows,
  toAuditRecord,
  type AuditFilter,
  type AuditRecord,
  type ChainHead,
} from '../db/audit-log-repo';

export type { AuditFilter, AuditRecord };

/** Entries matching the filter, newest first, older than the cursor (a sequence number) when given. */
export function auditEntries(db: Queryable, filter: AuditFilter, limit: number, before?: number): Promise<AuditRecord[]> {
  return auditPage(db, filter, limit, before);
}

const CSV_HEADER = [
  'seq',
  'occurred_at',
  'actor_type',
  'actor_id',
  'tenant_id',
  'action',
  'target_type',
  'target_id',
  'request_id',
  'ip',
  'details',
  'hash',
  'prev_hash',
];
const csvRow = (entry: AuditRecord) => [
  String(entry.seq),
  entry.occurredAt.toISOString(),
  entry.actorType,
  entry.actorId,
  entry.tenantId,
  entry.action,
  entry.targetType,
  entry.targetId,
  entry.requestId,
  entry.ip,
  JSON.stringify(entry.details),
  entry.hash,
  entry.prevHash,
];

/** Streams every entry matching the filter, oldest first, from one cursor, as JSON lines or CSV. */
export async function exportAuditLog(db: Pool, filter: AuditFilter, format: TransferFormat, out: Writable): Promise<void> {
  await withTransaction(db, (tx) => {
    const toRecords = new Transform({ objectMode: true, transform: (row, _e, done) => done(null, toAuditRecord(row)) });
    // JSON escapes CR and LF inside strings, and CSV quotes any cell holding them: one entry is one record either way.
    const encode = recordEncoder<AuditRecord>(format, { header: CSV_HEADER, row: csvRow });
    return streamCursor(tx, () => streamAuditRows(tx, filter), [toRecords, ...encode], out);
  });
}

/** A signed statement, kept outside the database, that the chain once ended at `seq` with `hash`. */
export interface Checkpoint extends ChainHead {
  at: string;
  /** The SECRETS_KEYS key its signature was made with. */
  kid: string;
  sig: string;
}

const SIGNING_INFO = 'codex-metatron audit checkpoint v1';

/**
 * Appends and reads the audit log's checkpoints. They are signed with a key derived from SECRETS_KEYS,
 * which the database never holds, so whoever can rewrite the database cannot also forge a checkpoint
 * that hides the rewrite; and they live in a file, so deleting the newest rows leaves the newest
 * checkpoint pointing past the end of the log.
 */
export class AuditCheckpoints {
  private readonly signingKeys: Map<string, Buffer>;
  private readonly currentKid: string;
  private poller?: Poller;
  private lastWritten?: number;

  constructor(
    private readonly file: string,
    keys: SecretKey[],
    private readonly logger?: Logger,
  ) {
    if (keys.length === 0) throw new Error('audit checkpoints need a key in SECRETS_KEYS');
    // A key of its own per purpose: a checkpoint signature says nothing about the sealed secrets, and back.
    this.signingKeys = new Map(keys.map(({ id, key }) => [id, Buffer.from(hkdfSync('sha256', key, '', SIGNING_INFO, 32))]));
    this.currentKid = keys[0]!.id;
  }

  private signature(kid: string, checkpoint: ChainHead & { at: string }): Buffer | undefined {
    const key = this.signingKeys.get(kid);
    return key && createHmac('sha256', key).update(`v1\n${checkpoint.seq}\n${checkpoint.hash}\n${checkpoint.at}`).digest();
  }

  /** Signs and appends a checkpoint of the chain's head as it is now; null while the log is empty. */
  async write(db: Queryable): Promise<Checkpoint | null> {
    const head = await chainHead(db);
    if (!head) return null;
    const at = new Date().toISOString();
    const checkpoint: Checkpoint = { ...head, at, kid: this.currentKid, sig: this.signature(this.currentKid, { ...head, at })!.toString('base64url') };
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify(checkpoint)}\n`, { mode: 0o600 });
    this.lastWritten = head.seq;
    return checkpoint;
  }

  /** Every checkpoint in the file, in the order written, each marked valid or not (a missing file is none). */
  async read(): Promise<Array<{ checkpoint: Checkpoint; valid: boolean }>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const checkpoint = parseCheckpoint(line);
        if (!checkpoint) return { checkpoint: { seq: 0, hash: '', at: '', kid: '', sig: '' }, valid: false };
        const expected = this.signature(checkpoint.kid, checkpoint);
        const given = Buffer.from(checkpoint.sig, 'base64url');
        return { checkpoint, valid: !!expected && expected.length === given.length && timingSafeEqual(expected, given) };
      });
  }

  /** Writes a checkpoint every `intervalMs` when the log has grown since the last one. */
  start(db: Queryable, intervalMs: number): void {
    this.poller ??= new Poller(
      async () => {
        const head = await chainHead(db);
        if (head && head.seq !== this.lastWritten) await this.write(db);
      },
      intervalMs,
      { logger: this.logger, message: `audit checkpoint not written to ${this.file}`, level: 'warn' },
    );
    this.poller.start();
  }

  stop(): void {
    this.poller?.stop();
  }
}

function parseCheckpoint(line: string): Checkpoint | null {
  try {
    const value = JSON.parse(line) as Partial<Checkpoint>;
    const { seq, hash, at, kid, sig } = value;
    if (!Number.isSafeInteger(seq) || typeof hash !== 'string' || typeof at !== 'string' || typeof kid !== 'string' || typeof sig !== 'string') return null;
    return { seq: seq!, hash, at, kid, sig };
  } catch {
    return null;
  }
}

export type BreakProblem = 'changed' | 'missing' | 'link' | 'truncated' | 'rewritten';

export interface ChainBreak {
  /** The first row that fails the check (for `missing` and `truncated`, the first sequence number absent). */
  seq: number;
  problem: BreakProblem;
  detail: string;
}

export interface Verification {
  valid: boolean;
  rows: number;
  head: number | null;
  checkpoints: { total: number; verified: number; invalid: number; latest: Checkpoint | null };
  firstBreak: ChainBreak | null;
}

const LINK_DETAIL: Record<'changed' | 'missing' | 'link', (seq: number) => string> = {
  changed: (seq) => `entry ${seq} was changed: its content does not give its stored hash`,
  missing: (seq) => `entry ${seq} is missing: the chain skips from ${seq - 1} to a later entry`,
  link: (seq) => `entry ${seq} does not follow entry ${seq - 1}: its previous-hash is not that entry's hash`,
};

/**
 * Walks the whole chain in the database, then holds it against every checkpoint: a checkpoint past the
 * end means the newest entries were removed; one whose hash differs from the row it names means the
 * rows since the checkpoint before it were rewritten, hashes and all. Reports the earliest break.
 */
export async function verifyAuditLog(db: Queryable, checkpoints: AuditCheckpoints): Promise<Verification> {
  const [chain, written] = await Promise.all([firstLinkBreak(db), checkpoints.read()]);
  const breaks: ChainBreak[] = [];
  if (chain.firstBreak) breaks.push({ ...chain.firstBreak, detail: LINK_DETAIL[chain.firstBreak.problem](chain.firstBreak.seq) });

  const signed = written.filter((entry) => entry.valid).map((entry) => entry.checkpoint);
  const head = chain.head ?? 0;
  const stored = await hashesAt(
    db,
    signed.filter((checkpoint) => checkpoint.seq <= head).map((checkpoint) => checkpoint.seq),
  );
  let confirmed = 0;
  for (const checkpoint of [...signed].sort((a, b) => a.seq - b.seq)) {
    if (checkpoint.seq > head) {
      breaks.push({
        seq: head + 1,
        problem: 'truncated',
        detail: `entries from ${head + 1} are missing: a checkpoint of ${checkpoint.at} saw the log reach ${checkpoint.seq}`,
      });
      break;
    }
    const hash = stored.get(checkpoint.seq);
    if (hash !== undefined && hash !== checkpoint.hash) {
      breaks.push({
        seq: confirmed + 1,
        problem: 'rewritten',
        detail: `entries ${confirmed + 1}–${checkpoint.seq} were rewritten: entry ${checkpoint.seq} is not the one checkpointed at ${checkpoint.at}`,
      });
      break;
    }
    confirmed = checkpoint.seq;
  }

  const firstBreak = breaks.sort((a, b) => a.seq - b.seq)[0] ?? null;
  const invalid = written.length - signed.length;
  return {
    valid: !firstBreak && invalid === 0,
    rows: chain.rows,
    head: chain.head,
    checkpoints: { total: written.length, verified: signed.length, invalid, latest: signed.at(-1) ?? null },
    firstBreak,
  };
}
