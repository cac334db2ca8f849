import { ensureDatabase, withDatabase, type LauncherConfig } from '@codex/shared';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';

export const EMBEDDED_MASTER_DATABASE = 'codex_master';

export interface PlatformDatabase {
  /** URL of the master database. */
  masterUrl: string;
  /** Set when we started an embedded server (and so must stop it). */
  embedded?: EmbeddedPostgres;
}

/**
 * The master database the launcher should use: `DATABASE_URL` when set
 * (creating its database if missing), else an embedded server under DATA_DIR.
 */
export async function openPlatformDatabase(config: LauncherConfig, onLog?: (line: string) => void): Promise<PlatformDatabase> {
  if (config.databaseUrl) {
    await ensureDatabase(config.databaseUrl);
    return { masterUrl: config.databaseUrl };
  }
  const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, onLog });
  const masterUrl = withDatabase(embedded.url, EMBEDDED_MASTER_DATABASE);
  try {
    await ensureDatabase(masterUrl);
  } catch (err) {
    await embedded.stop();
    throw err;
  }
  return { masterUrl, embedded };
}

