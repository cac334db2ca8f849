import { createPool, loadLauncherConfig, SecretBox } from '@codex/shared';
import { KeyRing } from '@codex/auth';
import { runScript } from './lib/run-script';
import { openPlatformDatabase } from './lib/database';
import { loadCommandConfig } from './lib/local-secrets';

/**
 * `npm run rotate-keys`: a new token signing key becomes current; the old one
 * stays in the JWKS until every token it signed has expired. Running auth
 * instances pick the new key up within 30 seconds.
 */
async function main(): Promise<void> {
  const launcher = loadLauncherConfig();
  const database = await openPlatformDatabase(launcher);
  const config = await loadCommandConfig('auth', launcher.dataDir, database.masterUrl);
  const pool = createPool(config.databaseUrl, { max: 2 });
  try {
    const kid = await new KeyRing(pool, new SecretBox(config.secretKeys[0]!, config.secretKeys.slice(1))).rotate();
    process.stdout.write(`New signing key ${kid} is current.\n`);
  } finally {
    await pool.end();
    await database.embedded?.stop();
  }
}

runScript('rotate-keys', main);
