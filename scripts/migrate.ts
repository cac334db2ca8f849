import { createLogger, loadLauncherConfig } from '@codex/shared';
import { runScript } from './lib/run-script';
import { openPlatformDatabase } from './lib/database';
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
    await preparePlatform(database.masterUrl, config, logger);
  } finally {
    await database.embedded?.stop();
  }
}

runScript('migrate', main);
