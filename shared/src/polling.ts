import type { Logger } from './logger';

/**
 * Runs `run` every `pollMs` once started, without keeping the process alive. A run never overlaps the
 * one before it, and a failed run is logged (at `level`, debug by default) while the next one tries again.
 */
export class Poller {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly pollMs: number,
    private readonly failure: { logger?: Logger; message: string; level?: 'debug' | 'warn' },
  ) {}

  /** Starts the schedule (once); `immediately` also runs now rather than after the first interval. */
  start(options: { immediately?: boolean } = {}): void {
    if (this.timer || this.pollMs <= 0) return;
    this.timer = setInterval(() => void this.runNow(), this.pollMs);
    this.timer.unref();
    if (options.immediately) void this.runNow();
  }

  /** Runs now, or joins the run in progress; never rejects. */
  runNow(): Promise<void> {
    this.running ??= this.run()
      .catch((err: unknown) => {
        this.failure.logger?.[this.failure.level ?? 'debug'](this.failure.message, { err });
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** A value loaded on first use and kept until dropped; a load that fails is not kept, so the next use tries again. */
export class Reloadable<T> {
  private value?: Promise<T>;

  constructor(private readonly load: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.value) {
      const loading = this.load();
      loading.catch(() => {
        if (this.value === loading) this.value = undefined;
      });
      this.value = loading;
    }
    return this.value;
  }

  /** What is held now, if anything (never starts a load). */
  held(): Promise<T> | undefined {
    return this.value;
  }

  drop(): void {
    this.value = undefined;
  }
}
