import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AccountEmail, ADMIN_ROLES, createPool, loadLauncherConfig, parseInput } from '@codex/shared';
import { oneTimePassword, operatorAdmins } from '@codex/auth';
import { z } from 'zod';
import { openPlatformDatabase } from './lib/database';
import { loadCommandConfig } from './lib/local-secrets';
import { runScript, UsageError } from './lib/run-script';

const USAGE = `Usage: npm run admin -- <command>
  list                                        platform admins
  create <email> [--role admin] [--stdin]     a new admin; prints a one-time password (or reads one from stdin)
  reset-password <email> [--stdin]            a new password for an admin (ends its sessions); printed once, or read from stdin`;

const Password = z
  .string()
  .min(12, 'must be at least 12 characters')
  .refine((value) => Buffer.byteLength(value) <= 72, 'must be at most 72 bytes');

/** `npm run admin`: the operator's way back in when nobody can sign in (a lost first password). */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { role: { type: 'string' }, stdin: { type: 'boolean' } } });
  const [command, email] = positionals;
  if (!command || (command !== 'list' && !email)) throw new UsageError();
  const launcher = loadLauncherConfig();
  const database = await openPlatformDatabase(launcher);
  const config = await loadCommandConfig('auth', launcher.dataDir, database.masterUrl);
  const pool = createPool(config.databaseUrl, { max: 1 });
  const admins = operatorAdmins(pool, config.auth.bcryptCost);
  const password = () => parseInput(Password, values.stdin ? readFileSync(0, 'utf8').trim() : oneTimePassword(), 'password');
  const show = (account: object, chosen?: string) =>
    process.stdout.write(`${JSON.stringify(account, null, 2)}\n${chosen && !values.stdin ? `One-time password (shown once): ${chosen}\n` : ''}`);
  try {
    switch (command) {
      case 'list':
        process.stdout.write(`${JSON.stringify(await admins.list(), null, 2)}\n`);
        break;
      case 'create': {
        const input = parseInput(z.object({ email: AccountEmail, role: z.enum(ADMIN_ROLES).default('admin') }), { email, role: values.role }, 'arguments');
        const chosen = password();
        show(await admins.create({ ...input, password: chosen }), chosen);
        break;
      }
      case 'reset-password': {
        const address = parseInput(AccountEmail, email, 'arguments.email');
        const chosen = password();
        show(await admins.resetPassword(address, chosen), chosen);
        break;
      }
      default:
        throw new UsageError();
    }
  } finally {
    await pool.end();
    await database.embedded?.stop();
  }
}

runScript('admin', main, USAGE);
