import type { Logger } from '@codex/shared';
import { fillSpareDatabases, withServerAdmin } from '../db/tenant-databases';

export interface SpareDatabasesOptions {
  /** Superuser URL of the server tenant databases are created on. */
  serverUrl: string;
  templateDatabase: string;
  /** Ready spares to keep; 0 turns spares off. */
  count: number;
  logger: Logger;
}

/**
 * A few tenant databases made ahead, in the background, so that provisioning
 * claims one by renaming it (claimSpareDatabase) instead of copying the
 * template and connecting into the copy for its lock-down while the caller
 * waits. Refilled when the service starts and after every claim; a failed
 * refill is logged and tried again at the next one (provisioning copies as
 * before while there is no spare).
 */
export class SpareDatabases {
  private filling?: Promise<void>;
  private again = false;
  private closed = false;

  constructor(private readonly options: SpareDatabasesOptions) {}

  get enabled(): boolean {
    return this.options.count > 0 && !this.closed;
  }

  /** Starts a refill, or asks the running one to go round once more. */
  refill(): void {
    if (!this.enabled) return;
    if (this.filling) {
      this.again = true;
      return;
    }
    this.filling = this.fill().finally(() => {
      this.filling = undefined;
      if (this.again) {
        this.again = false;
        this.refill();
      }
    });
  }

  private async fill(): Promise<void> {
    const { serverUrl, templateDatabase, count, logger } = this.options;
    try {
      await withServerAdmin(serverUrl, (admin) => fillSpareDatabases(admin, serverUrl, templateDatabase, count, () => this.closed, logger));
    } catch (err) {
      logger.warn('could not make spare tenant databases; provisioning copies the template meanwhile', { err });
    }
  }

  /** Resolves when no refill is running. */
  async idle(): Promise<void> {
    while (this.filling) await this.filling;
  }

  /** Stops refilling and waits for a spare being made (at shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.filling;
  }
}
