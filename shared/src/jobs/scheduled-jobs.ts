import type { Logger } from '../logger';
import PgBoss from 'pg-boss';

/** A scheduled job: a name, when it runs, and what it does. */
export interface ScheduledJob {
  name: string;
  /** Cron (UTC); the job also runs once at start. */
  cron: string;
  run(): Promise<unknown>;
}

/** Waits between attempts to start the queue while the database is unreachable. */
const START_RETRY_MS = 5_000;

/**
 * A service's scheduled jobs on pg-boss, a queue in the master database
 * (billing's period close and dunning, the admin service's tenant purge):
 * every instance schedules them, and the queue hands each run to one instance
 * (a singleton queue, so two runs of one job never overlap). A run that fails
 * or dies with its process is retried; each job is written to be run again safely.
 */
export class ScheduledJobs {
  private readonly boss: PgBoss;
  private stopped = false;
  private started?: Promise<void>;

  constructor(
    databaseUrl: string,
    private readonly jobs: ScheduledJob[],
    private readonly logger: Logger,
    /** Shown in pg_stat_activity, e.g. `codex-billing-jobs`. */
    applicationName: string,
  ) {
    this.boss = new PgBoss({ connectionString: databaseUrl, max: 2, application_name: applicationName, schema: 'pgboss' });
    this.boss.on('error', (err) => logger.warn('job queue error', { err }));
  }

  /** Starts in the background, retrying while the database is unreachable. */
  start(): void {
    this.started = this.startOnce().catch(async (err: unknown) => {
      if (this.stopped) return;
      this.logger.warn('scheduled jobs could not start; retrying', { reason: (err as Error).message });
      await new Promise((resolve) => setTimeout(resolve, START_RETRY_MS).unref());
      if (!this.stopped) this.start();
    });
  }

  /** Resolves once the queue has started (for tests and scripts). */
  async ready(): Promise<void> {
    await this.started;
  }

  private async startOnce(): Promise<void> {
    await this.boss.start();
    for (const job of this.jobs) {
      await this.boss.createQueue(job.name, { name: job.name, policy: 'singleton', retryLimit: 5, retryDelay: 30, retryBackoff: true, expireInMinutes: 30 });
      await this.boss.schedule(job.name, job.cron, {}, { tz: 'UTC' });
      await this.boss.work(job.name, { pollingIntervalSeconds: 2 }, async () => {
        const started = Date.now();
        const outcome = await job.run();
        this.logger.info('job done', { job: job.name, ms: Date.now() - started, outcome });
      });
      await this.boss.send(job.name, {}, { singletonKey: 'start' });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.started?.catch(() => undefined);
    await this.boss.stop({ graceful: true, wait: true, timeout: 10_000 }).catch(() => undefined);
  }
}
