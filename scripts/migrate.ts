import { ConfigError, createLogger, loadLauncherConfig, migratePlatform } from '@codex/shared';
import { openPlatformDatabase } from './lib/database';

/** `npm run migrate`: master database, then every tenant database. */
async function main(): Promise<void> {
  const config = loadLauncherConfig();
  const logger = createLogger('migrate', { level: config.logLevel });
  const database = await openPlatformDatabase(config);
  try {
    const result = await migratePlatform(database.masterUrl, logger);
    const tenantCount = Object.keys(result.tenants).length;
    const tenantApplied = Object.values(result.tenants).reduce((sum, r) => sum + r.applied.length, 0);
    logger.info('migrations complete', {
      masterApplied: result.master.applied.length,
      tenants: tenantCount,
      tenantApplied,
    });
  } finally {
    await database.embedded?.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`migrate: ${err instanceof ConfigError ? err.message : (err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
