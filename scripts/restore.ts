import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createClient, createPool, loadLauncherConfig, SecretBox, withDatabase } from '@codex/shared';
import { restoreTenantAccess } from '@codex/admin';
import { loadCommandConfig } from './lib/local-secrets';
import { type BackupManifest, runPgTool, sha256 } from './lib/pg-tools';
import { OperatorError, runScript, UsageError } from './lib/run-script';

/**
 * `npm run restore -- DIR`: puts a backup back on the server of DATABASE_URL,
 * which must not hold its databases yet (a new server, or after they were
 * dropped). Every file is checked against the manifest first; then the master
 * database, each tenant's database, and each tenant's login role with the
 * password sealed in the master database (so SECRETS_KEYS must be the backed-up
 * install's), locked down as at provisioning.
 */
async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new UsageError();
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as BackupManifest;
  if (manifest.format !== 'codex-backup/1') throw new OperatorError(`${dir} is not a Codex Metatron backup (manifest format ${manifest.format})`);
  for (const entry of [manifest.master, ...manifest.tenants]) {
    if ((await sha256(path.join(dir, entry.file))) !== entry.sha256)
      throw new OperatorError(`${entry.file} does not match its checksum in the manifest; nothing was restored`);
  }
  const launcher = loadLauncherConfig();
  if (!launcher.databaseUrl) throw new OperatorError('set DATABASE_URL to the master database to restore into (on the target server)');
  const masterUrl = launcher.databaseUrl;
  const config = await loadCommandConfig('admin', launcher.dataDir, masterUrl);

  const server = createClient({ connectionString: withDatabase(masterUrl, 'postgres') });
  await server.connect();
  try {
    const names = [new URL(masterUrl).pathname.slice(1), ...manifest.tenants.map((t) => t.database)];
    const { rows } = await server.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [names]);
    if (rows.length) throw new OperatorError(`the target server already has ${rows.map((r) => r.datname).join(', ')}: restore into an empty server`);
    for (const name of names) await server.query(`CREATE DATABASE ${server.escapeIdentifier(name)}`);
  } finally {
    await server.end();
  }
  const restore = (url: string, file: string) =>
    runPgTool('pg_restore', ['--no-owner', '--exit-on-error', `--dbname=${url}`, path.join(dir, file)], launcher.pgBin);
  await restore(masterUrl, manifest.master.file);
  // The tenants' roles (and the lock-down) before their databases' contents, whose grants name them.
  const pool = createPool(masterUrl, { max: 1 });
  let roles: number;
  try {
    const secrets = new SecretBox(config.secretKeys[0]!, config.secretKeys.slice(1));
    roles = await restoreTenantAccess({ db: pool, serverUrl: masterUrl, masterUrl, secrets });
  } finally {
    await pool.end();
  }
  for (const tenant of manifest.tenants) await restore(withDatabase(masterUrl, tenant.database), tenant.file);
  process.stdout.write(`Restored the master database and ${manifest.tenants.length} tenant databases (${roles} tenant roles) from ${dir}\n`);
}

runScript('restore', main, 'Usage: npm run restore -- <backup directory>');
