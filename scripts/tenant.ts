import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { closeServiceDeps, createLogger, createServiceDeps, loadLauncherConfig, parseInput, type AuditActor } from '@codex/shared';
import { z } from 'zod';
import { apiKeysOf, CreateKey, CreateTenant, issueApiKey, provisionTenant, publicTenant, revokeKey, tenantBySlug, tenantPage } from '@codex/admin';
import { openPlatformDatabase } from './lib/database';
import { loadCommandConfig } from './lib/local-secrets';
import { runScript, UsageError } from './lib/run-script';

const USAGE = `Usage: npm run tenant -- <command>
  create <slug> [--name "Acme Inc"] [--plan free]   provision a tenant; prints its first API key once
  list [--status active]                            list tenants
  keys <slug>                                       list a tenant's API keys (prefixes only)
  issue-key <slug> [--name ci]                      issue another API key; printed once
  revoke-key <slug> <key-id>                        revoke an API key`;

const ListFilter = z.strictObject({ status: z.enum(['provisioning', 'active', 'suspended', 'deleting', 'deleted', 'failed']).optional() });
/** Changes made from the command line are audited as the operating-system user who ran it. */
const CLI_ACTOR: AuditActor = { actorType: 'system', actorId: `cli:${userInfo().username}` };
const KeyId = z.uuid({ error: 'must be a key id (a UUID, as `keys` lists them)' });

/**
 * `npm run tenant`: the operator's way to do what the admin API does, through
 * the admin service's own rules and input schemas (bad input reads as it
 * does in the API, one line per field, exit 1).
 */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { name: { type: 'string' }, plan: { type: 'string' }, status: { type: 'string' } },
  });
  const [command, ...args] = positionals;
  if (!command) throw new UsageError();
  if (command === 'create' && !args[0]) throw new UsageError();

  const launcher = loadLauncherConfig();
  const database = await openPlatformDatabase(launcher);
  const config = await loadCommandConfig('admin', launcher.dataDir, database.masterUrl);
  const deps = createServiceDeps(config, createLogger('tenant-cli', { level: 'warn' }));
  const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  const tenantOf = async (slug: string | undefined) => tenantBySlug(deps.db, slug ?? '');
  try {
    switch (command) {
      case 'create': {
        const input = parseInput(CreateTenant, { slug: args[0], name: values.name ?? args[0], plan: values.plan }, 'arguments');
        const provisioning = {
          db: deps.db,
          serverUrl: config.databaseUrl,
          templateDatabase: config.provisioning.templateDatabase,
          secrets: deps.secrets,
          logger: deps.logger,
          settings: deps.platformConfig,
        };
        print(await provisionTenant(provisioning, input, undefined, CLI_ACTOR));
        break;
      }
      case 'list': {
        const { status } = parseInput(ListFilter, { status: values.status }, 'arguments');
        print((await tenantPage(deps.db, { status, limit: 100, offset: 0 })).items.map(publicTenant));
        break;
      }
      case 'keys':
        print(await apiKeysOf(deps.db, (await tenantOf(args[0])).id));
        break;
      case 'issue-key': {
        const { name } = parseInput(CreateKey, { name: values.name }, 'arguments');
        print(await issueApiKey(deps.db, (await tenantOf(args[0])).id, name, CLI_ACTOR));
        break;
      }
      case 'revoke-key': {
        const tenant = await tenantOf(args[0]);
        const keyId = parseInput(KeyId, args[1], 'arguments.keyId');
        await revokeKey(deps.db, tenant.id, keyId, CLI_ACTOR);
        print({ revoked: keyId });
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
