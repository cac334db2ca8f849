import { parseArgs } from 'node:util';
import { closeServiceDeps, createLogger, createServiceDeps, loadLauncherConfig, parseInput } from '@codex/shared';
import { z } from 'zod';
import { closePeriods, dunningDeps, maintainPartitions, paymentDeps, runDunning } from '@codex/billing';
import { openPlatformDatabase } from './lib/database';
import { loadCommandConfig } from './lib/local-secrets';
import { runScript, UsageError } from './lib/run-script';

const USAGE = `Usage: npm run billing -- <command>
  close-periods [--tenant <id>] [--now <ISO time>]   invoice every ended period now (what the job does every 5 minutes)
  partitions                                         create usage partitions ahead and drop those past retention
  dunning [--tenant <id>] [--now <ISO time>]         retry due charges, move tenants through past due, grace and
                                                     suspension (what the job does hourly; the admin service must be up)`;

const TenantAndTime = z.strictObject({ tenant: z.uuid().optional(), now: z.iso.datetime({ offset: true }).optional() });

/**
 * `npm run billing`: the billing jobs by hand, for an operator who will not
 * wait for the schedule. Each is safe to run at any time, next to the
 * services: a period is invoiced once, however often the close runs.
 */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { tenant: { type: 'string' }, now: { type: 'string' } } });
  const [command] = positionals;
  const launcher = loadLauncherConfig();
  const database = await openPlatformDatabase(launcher);
  const config = await loadCommandConfig('billing', launcher.dataDir, database.masterUrl);
  const deps = createServiceDeps(config, createLogger('billing-cli', { level: 'warn' }));
  const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  try {
    switch (command) {
      case 'close-periods': {
        const options = parseInput(TenantAndTime, { tenant: values.tenant, now: values.now }, 'arguments');
        print(await closePeriods(deps.db, { tenantId: options.tenant, now: options.now ? new Date(options.now) : undefined }));
        break;
      }
      case 'dunning': {
        const options = parseInput(TenantAndTime, { tenant: values.tenant, now: values.now }, 'arguments');
        const dunning = dunningDeps(deps, paymentDeps(deps));
        print(await runDunning(dunning, options.now ? new Date(options.now) : undefined, options.tenant));
        break;
      }
      case 'partitions':
        print(await maintainPartitions(deps.db, config.billing.usageRetentionMonths));
        break;
      default:
        throw new UsageError();
    }
  } finally {
    await closeServiceDeps(deps);
    await database.embedded?.stop();
  }
}

runScript('billing', main, USAGE);
