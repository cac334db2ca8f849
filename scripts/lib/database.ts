import path from 'node:path';
import { createClient, ensureDatabase, withDatabase, type LauncherConfig } from '@codex/shared';
import { embeddedServerUrl, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';

export const EMBEDDED_MASTER_DATABASE = 'codex_master';

export interface PlatformDatabase {
  /** URL of the master database. */
  masterUrl: string;
  /** Set when we started an embedded server (and so must stop it). */
  embedded?: EmbeddedPostgres;
  /** Which server this is, for people (never with its password). */
  description: string;
}

/** host:port/database of a URL, without credentials. */
const whereIs = (url: string) => {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
};

/**
 * The master database the launcher should use: `DATABASE_URL` when set
 * (creating its database if missing), else an embedded server under DATA_DIR.
 */
export async function openPlatformDatabase(config: LauncherConfig, onLog?: (line: string) => void): Promise<PlatformDatabase> {
  if (config.databaseUrl) {
    await ensureDatabase(config.databaseUrl);
    return { masterUrl: config.databaseUrl, description: `PostgreSQL at ${whereIs(config.databaseUrl)} (DATABASE_URL)` };
  }
  const running = await runningEmbeddedServer(config);
  if (running) {
    // `npm start` already runs it: share it rather than start a second server on the same data.
    await ensureDatabase(withDatabase(running, EMBEDDED_MASTER_DATABASE));
    return {
      masterUrl: withDatabase(running, EMBEDDED_MASTER_DATABASE),
      description: `embedded PostgreSQL already running on port ${config.embeddedPgPort}, data in ${path.resolve(config.dataDir)}`,
    };
  }
  const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, onLog });
  const masterUrl = withDatabase(embedded.url, EMBEDDED_MASTER_DATABASE);
  try {
    await ensureDatabase(masterUrl);
  } catch (err) {
    await embedded.stop();
    throw err;
  }
  return { masterUrl, embedded, description: `embedded PostgreSQL on port ${config.embeddedPgPort}, data in ${path.resolve(config.dataDir)}` };
}

/** The URL of the embedded server of DATA_DIR when it is already up, else undefined. */
async function runningEmbeddedServer(config: LauncherConfig): Promise<string | undefined> {
  const url = await embeddedServerUrl(config.dataDir, config.embeddedPgPort);
  if (!url) return undefined;
  const client = createClient({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    return url;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}
