import type { Logger } from './logger';

/** Runs `refresh` every `pollMs` once started, off the event loop's keep-alive; a failed run is logged at debug and the next one tries again. */
export class Poller {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly refresh: () => Promise<void>,
    private readonly pollMs: number,
    private readonly failure: { logger?: Logger; message: string },
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.failure.logger?.debug(this.failure.message, { err }));
    }, this.pollMs);
    this.timer.unref();
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
