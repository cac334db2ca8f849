import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { RedisClient, UsageEventRecord } from '@codex/shared';

/** A batch taken from a buffer, to be acknowledged once billing has stored it. */
export interface BufferedBatch {
  ref: string;
  events: UsageEventRecord[];
}

/**
 * Where the gateway keeps usage events billing could not take, until it can:
 * durable (a restart of the gateway keeps them) and bounded (`maxEvents`;
 * beyond it a batch is refused and counted as dropped). Replays may repeat a
 * batch (another instance, a crash before the acknowledgement): billing
 * stores each event id once, so a repeat never counts twice.
 */
export interface UsageBuffer {
  readonly kind: 'redis' | 'spool';
  /** Keeps the batch; false when the buffer is full (the batch is not kept). Rejects when the store fails. */
  append(events: UsageEventRecord[]): Promise<boolean>;
  /** Up to `count` of the oldest batches. */
  take(count: number): Promise<BufferedBatch[]>;
  /** Forgets batches billing has stored. */
  ack(batches: BufferedBatch[]): Promise<void>;
  /** Events held now (this instance's view for the spool). */
  size(): Promise<number>;
}

/** A Redis stream shared by every gateway instance: one entry per batch, and a counter of the events held. */
export class RedisStreamBuffer implements UsageBuffer {
  readonly kind = 'redis';
  private readonly stream: string;
  private readonly counter: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly maxEvents: number,
  ) {
    this.stream = `${prefix}:usage:buffer`;
    this.counter = `${prefix}:usage:buffered-events`;
  }

  async append(events: UsageEventRecord[]): Promise<boolean> {
    if ((await this.size()) + events.length > this.maxEvents) return false;
    await this.redis
      .multi()
      .xAdd(this.stream, '*', { n: String(events.length), events: JSON.stringify(events) })
      .incrBy(this.counter, events.length)
      .exec();
    return true;
  }

  async take(count: number): Promise<BufferedBatch[]> {
    const entries = await this.redis.xRange(this.stream, '-', '+', { COUNT: count });
    return entries.map((entry) => ({ ref: entry.id, events: JSON.parse(String(entry.message.events)) as UsageEventRecord[] }));
  }

  async ack(batches: BufferedBatch[]): Promise<void> {
    if (batches.length === 0) return;
    // Another instance may have replayed and removed the same entries: only what this call removed is uncounted.
    const removed = await this.redis.xDel(
      this.stream,
      batches.map((batch) => batch.ref),
    );
    if (removed === batches.length) {
      await this.redis.decrBy(
        this.counter,
        batches.reduce((sum, batch) => sum + batch.events.length, 0),
      );
    } else if (removed > 0) {
      await this.redis.set(this.counter, String(await this.countHeld()));
    }
  }

  async size(): Promise<number> {
    return Number((await this.redis.get(this.counter)) ?? 0);
  }

  private async countHeld(): Promise<number> {
    let held = 0;
    for (const entry of await this.redis.xRange(this.stream, '-', '+')) held += Number(entry.message.n ?? 0);
    return held;
  }
}

const SPOOL_PREFIX = 'spool-';
const CLAIMED_PREFIX = 'claimed-';

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Append-only files under a directory, one line per batch. Each process
 * appends to its own file; to replay, it renames the file (an atomic claim)
 * and reads it, and also claims the files of processes that are gone. A
 * line cut short by a crash is skipped.
 */
export class SpoolFileBuffer implements UsageBuffer {
  readonly kind = 'spool';
  private held = -1;
  /** Batches read from claimed files, by file, not yet acknowledged. */
  private readonly claimed = new Map<string, BufferedBatch[]>();
  private readonly ownFile: string;

  constructor(
    private readonly directory: string,
    private readonly maxEvents: number,
  ) {
    this.ownFile = path.join(directory, `${SPOOL_PREFIX}${process.pid}.jsonl`);
  }

  async append(events: UsageEventRecord[]): Promise<boolean> {
    if ((await this.size()) + events.length > this.maxEvents) return false;
    await appendFile(this.ownFile, `${JSON.stringify(events)}\n`, { flag: 'a' });
    this.held += events.length;
    return true;
  }

  async take(count: number): Promise<BufferedBatch[]> {
    await this.ready();
    if (this.claimed.size === 0) await this.claim();
    return [...this.claimed.values()].flat().slice(0, count);
  }

  async ack(batches: BufferedBatch[]): Promise<void> {
    const done = new Set(batches.map((batch) => batch.ref));
    for (const [file, pending] of this.claimed) {
      const left = pending.filter((batch) => !done.has(batch.ref));
      for (const batch of pending) if (done.has(batch.ref)) this.held -= batch.events.length;
      if (left.length === 0) {
        this.claimed.delete(file);
        await unlink(file).catch(() => undefined);
      } else {
        this.claimed.set(file, left);
      }
    }
  }

  async size(): Promise<number> {
    await this.ready();
    return this.held;
  }

  /** Counts what earlier runs left, once. */
  private async ready(): Promise<void> {
    if (this.held >= 0) return;
    await mkdir(this.directory, { recursive: true });
    let held = 0;
    for (const name of await readdir(this.directory)) {
      if (name.endsWith('.jsonl')) held += (await this.readBatches(path.join(this.directory, name))).reduce((sum, batch) => sum + batch.events.length, 0);
    }
    this.held = held;
  }

  private async claim(): Promise<void> {
    for (const name of await readdir(this.directory)) {
      const match = /^(spool|claimed)-(\d+)(?:-[\w-]+)?\.jsonl$/.exec(name);
      if (!match) continue;
      const pid = Number(match[2]);
      const ours = pid === process.pid;
      // Our own spool, or a file whose writer or claimer is gone; a live process's claim is its own.
      if (!(ours && match[1] === 'spool') && isAlive(pid)) continue;
      const target = path.join(this.directory, `${CLAIMED_PREFIX}${process.pid}-${randomUUID()}.jsonl`);
      try {
        await rename(path.join(this.directory, name), target);
      } catch {
        continue; // another process claimed it first
      }
      const batches = await this.readBatches(target);
      if (batches.length === 0) await unlink(target).catch(() => undefined);
      else this.claimed.set(target, batches);
    }
  }

  private async readBatches(file: string): Promise<BufferedBatch[]> {
    const text = await readFile(file, 'utf8').catch(() => '');
    const batches: BufferedBatch[] = [];
    text.split('\n').forEach((line, index) => {
      if (!line) return;
      try {
        batches.push({ ref: `${file}#${index}`, events: JSON.parse(line) as UsageEventRecord[] });
      } catch {
        // The last line of a file whose writer died mid-append.
      }
    });
    return batches;
  }
}
