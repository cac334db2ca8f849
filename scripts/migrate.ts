import { createLogger, loadLauncherConfig } from '@codex/shared';
import { runScript } from './lib/run-script';
import { openPlatformDatabase } from './lib/database';
import { adminNotice } from './lib/bootstrap-admin';
import { preparePlatform } from './lib/prepare-platform';

/**
 * `npm run migrate`: the master database, then every tenant database; and the
 * first super admin if there is none yet (PM2 and compose run this before the services).
 */
async function main(): Promise<void> {
  const config = loadLauncherConfig();
  const logger = createLogger('migrate', { level: config.logLevel });
  const database = await openPlatformDatabase(config);
  try {
    const admin = await preparePlatform(database.masterUrl, config, logger);
    const notice = await adminNotice(admin, config);
    if (notice.length) process.stdout.write(`\n${notice.join('\n')}\n`);
  } finally {
    await database.embedded?.stop();
  }
}

runScript('migrate', main);
