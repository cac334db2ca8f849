import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateSecretKeyEntry, loadConfig, type ServiceConfig, type ServiceName } from '@codex/shared';

interface LocalSecrets {
  SERVICE_JWT_SECRET: string;
  SECRETS_KEYS: string;
}

/**
 * Secrets for a one-box install made on the first `npm start` and kept in
 * DATA_DIR (mode 600), so every install has its own rather than a shared
 * development value. Variables set in the environment win.
 */
export async function localSecrets(dataDir: string, env: NodeJS.ProcessEnv): Promise<LocalSecrets> {
  const file = path.join(path.resolve(dataDir), 'secrets.json');
  let stored: LocalSecrets;
  if (existsSync(file)) {
    stored = JSON.parse(await readFile(file, 'utf8')) as LocalSecrets;
  } else {
    stored = { SERVICE_JWT_SECRET: randomBytes(48).toString('base64url'), SECRETS_KEYS: generateSecretKeyEntry('k1') };
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  }
  return {
    SERVICE_JWT_SECRET: env.SERVICE_JWT_SECRET || stored.SERVICE_JWT_SECRET,
    SECRETS_KEYS: env.SECRETS_KEYS || stored.SECRETS_KEYS,
  };
}

/** A service's configuration for an operator command: the environment, this install's secrets, and the database in use. */
export async function loadCommandConfig<S extends ServiceName>(service: S, dataDir: string, databaseUrl: string): Promise<ServiceConfig<S>> {
  return loadConfig(service, { ...process.env, ...(await localSecrets(dataDir, process.env)), DATABASE_URL: databaseUrl });
}
