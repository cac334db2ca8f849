import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { ensureSdkBuilt, SDK_DIR, TEMPLATE_DIR } from './lib/client-app';
import { OperatorError, runScript, UsageError } from './lib/run-script';

const USAGE = `Usage: npm run create-app -- <directory> --api-key cmk_… [--api-url http://127.0.0.1:3000] [--app-url http://localhost:3200]
  Writes a new tenant app (Next.js, NextAuth, the typed SDK) into <directory>, with .env.local filled in.
  The API key may also come from CDX_API_KEY, the gateway's URL from CDX_API_URL.`;

/** What of the template is not copied: build output, installed packages, the template's own tests. */
const LEFT_OUT = new Set(['node_modules', '.next', 'test', 'cache', 'next-env.d.ts', 'tsconfig.tsbuildinfo', '.env.local']);

const GITIGNORE = `node_modules/
.next/
next-env.d.ts
*.tsbuildinfo
.env.local
`;

/**
 * `npm run create-app -- <dir> --api-key cmk_…`: a copy of
 * templates/client-app that stands on its own: the SDK packed beside it (a
 * file: dependency until it is on a registry), and `.env.local` with the
 * tenant's key, the gateway's URL and a fresh NEXTAUTH_SECRET.
 */
async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'api-key': { type: 'string' }, 'api-url': { type: 'string' }, 'app-url': { type: 'string' } },
  });
  const [target] = positionals;
  if (!target || positionals.length > 1) throw new UsageError();
  const apiKey = values['api-key'] ?? process.env.CDX_API_KEY;
  if (!apiKey?.startsWith('cmk_')) throw new UsageError();
  const apiUrl = (values['api-url'] ?? process.env.CDX_API_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
  const appUrl = values['app-url'] ?? 'http://localhost:3200';
  for (const [name, url] of [
    ['--api-url', apiUrl],
    ['--app-url', appUrl],
  ] as const) {
    if (!URL.canParse(url)) throw new OperatorError(`${name} must be a URL such as http://127.0.0.1:3000 (got ${url})`);
  }

  // npm runs scripts from the repository's root; a relative directory is meant from where the command was typed.
  const dir = path.resolve(process.env.INIT_CWD ?? process.cwd(), target);
  const existing = await readdir(dir).catch(() => []);
  if (existing.length) throw new OperatorError(`${dir} is not empty; choose a new directory`);
  await mkdir(dir, { recursive: true });
  await cp(TEMPLATE_DIR, dir, { recursive: true, filter: (source) => !LEFT_OUT.has(path.basename(source)) });

  await ensureSdkBuilt();
  const vendor = path.join(dir, 'vendor');
  await mkdir(vendor);
  const { stdout } = await promisify(execFile)('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', vendor], { cwd: SDK_DIR });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
  const manifestPath = path.join(dir, 'package.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { name: string; dependencies: Record<string, string> };
  manifest.name = path
    .basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-');
  manifest.dependencies['@codex-metatron/sdk'] = `file:vendor/${packed!.filename}`;
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

  const secret = randomBytes(32).toString('base64');
  const env = (await readFile(path.join(TEMPLATE_DIR, '.env.example'), 'utf8'))
    .replace(/^CDX_API_URL=.*$/m, `CDX_API_URL=${apiUrl}`)
    .replace(/^CDX_API_KEY=.*$/m, `CDX_API_KEY=${apiKey}`)
    .replace(/^NEXTAUTH_SECRET=.*$/m, `NEXTAUTH_SECRET=${secret}`)
    .replace(/^NEXTAUTH_URL=.*$/m, `NEXTAUTH_URL=${appUrl}`);
  await writeFile(path.join(dir, '.env.local'), env, { mode: 0o600 });
  await writeFile(path.join(dir, '.gitignore'), GITIGNORE);

  process.stdout.write(`Your app is in ${dir}. Next:\n  cd ${target}\n  npm install\n  npm run dev    # ${appUrl}\n`);
}

runScript('create-app', main, USAGE);
