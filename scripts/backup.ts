import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createPool, databaseName, loadLauncherConfig, PLATFORM_VERSION, withDatabase } from '@codex/shared';
import { tenantDatabases } from '@codex/admin';
import { openPlatformDatabase } from './lib/database';
import { type BackupManifest, runPgTool, sha256 } from './lib/pg-tools';
import { runScript } from './lib/run-script';

/**
 * `npm run backup [-- --out DIR]`: a pg_dump (custom format) of the master
 * database and of every tenant's database, and a manifest with each file's
 * SHA-256. Consistent per database; take it while the platform runs or not.
 * PG_BIN names the client tools' directory when they are not on PATH.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const launcher = loadLauncherConfig();
  const database = await openPlatformDatabase(launcher);
  const out = path.resolve(values.out ?? path.join('backups', new Date().toISOString().replace(/[:.]/g, '-')));
  await mkdir(out, { recursive: true, mode: 0o700 });
  const pool = createPool(database.masterUrl, { max: 1 });
  try {
    const tenants = await tenantDatabases(pool);
    const dump = async (url: string, file: string) => {
      await runPgTool('pg_dump', ['--format=custom', '--no-owner', `--file=${path.join(out, file)}`, `--dbname=${url}`], launcher.pgBin);
      return sha256(path.join(out, file));
    };
    const masterDatabase = databaseName(database.masterUrl);
    const manifest: BackupManifest = {
      format: 'codex-backup/1',
      createdAt: new Date().toISOString(),
      platformVersion: PLATFORM_VERSION,
      master: { database: masterDatabase, file: 'master.dump', sha256: await dump(database.masterUrl, 'master.dump') },
      tenants: [],
    };
    for (const tenant of tenants) {
      const file = `tenant-${tenant.id}.dump`;
      manifest.tenants.push({ ...tenant, file, sha256: await dump(withDatabase(database.masterUrl, tenant.database), file) });
    }
    await writeFile(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    process.stdout.write(`Backed up the master database and ${tenants.length} tenant databases to ${out}\n`);
  } finally {
    await pool.end();
    await database.embedded?.stop();
  }
}

runScript('backup', main);
