import { parseArgs } from 'node:util';
import {
  closeServiceDeps,
  createLogger,
  createServiceDeps,
  loadLauncherConfig,
  AppError,
} from '@codex/shared';
import { listApiKeys, revokeApiKey } from '../services/admin/src/db/api-keys-repo';
import { findTenantBySlug, listTenants, publicTenant } from '../services/admin/src/db/tenants-repo';
import { issueApiKey } from '../services/admin/src/domain/api-keys';
import { provisionTenant } from '../services/admin/src/domain/provisioning';
import { runScript, UsageError } from './lib/run-script';
import { openPlatformDatabase } from './lib/database';
import { loadCommandConfig } from './lib/local-secrets';

const USAGE = `Usage: npm run tenant -- <command>
  create <slug> [--name "Acme Inc"] [--plan free]   provision a tenant; prints its first API key once
  list [--status active]                            list tenants
  keys <slug>                                       list a tenant's API keys (prefixes only)
  issue-key <slug> [--name ci]                      issue another API key; printed once
  revoke-key <slug> <key-id>                        revoke an API key`;

/** `npm run tenant`: the operator's way to do what the admin API does, straight on the database. */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { name: { type: 'string' }, plan: { type: 'string' }, status: { type: 'string' } },
  });
  const [command, ...args] = positionals;
  if (!command) throw new UsageError();

  const launcher = loadLauncherConfig();
  const database = await openPlatformDatabase(launcher);
  const config = await loadCommandConfig('admin', launcher.dataDir, database.masterUrl);
  const deps = createServiceDeps(config, createLogger('tenant-cli', { level: 'warn' }));
  const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  const tenantBySlug = async (slug: string | undefined) => {
    const tenant = slug ? await findTenantBySlug(deps.db, slug) : undefined;
    if (!tenant) throw new AppError('TENANT_NOT_FOUND', 404, `No tenant with slug ${JSON.stringify(slug)}`);
    return tenant;
  };
  try {
    switch (command) {
      case 'create': {
        const slug = args[0];
        if (!slug) throw new UsageError();
        print(
          await provisionTenant(
            { db: deps.db, serverUrl: config.databaseUrl, templateDatabase: config.tenantTemplateDatabase, secrets: deps.secrets, logger: deps.logger },
            { slug, name: values.name ?? slug, plan: values.plan ?? 'free' },
          ),
        );
        break;
      }
      case 'list':
        print((await listTenants(deps.db, { status: values.status as never, limit: 100, offset: 0 })).items.map(publicTenant));
        break;
      case 'keys':
        print(await listApiKeys(deps.db, (await tenantBySlug(args[0])).id));
        break;
      case 'issue-key':
        print(await issueApiKey(deps.db, (await tenantBySlug(args[0])).id, values.name ?? 'default'));
        break;
      case 'revoke-key': {
        const tenant = await tenantBySlug(args[0]);
        if (!args[1] || !(await revokeApiKey(deps.db, tenant.id, args[1]))) throw new AppError('API_KEY_NOT_FOUND', 404, 'No such key for this tenant');
        print({ revoked: args[1] });
        break;
      }
      default:
        throw new UsageError();
    }
  } finally {
    await closeServiceDeps(deps);
    await database.embedded?.stop();
  }
}

runScript('tenant', main, USAGE);
