import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildNextApp, newestChange, nextBuildIsCurrent } from './next-app';

const ROOT = path.resolve(__dirname, '..', '..');
/** The SDK's workspace, and the tenant-app template built on it. */
export const SDK_DIR = path.join(ROOT, 'sdk');
export const TEMPLATE_DIR = path.join(ROOT, 'templates', 'client-app');
const SDK_ENTRY = path.join(SDK_DIR, 'dist', 'index.js');

/** The SDK's ES module build (`npm run build -w sdk`), made when its sources changed since the last one. */
export async function ensureSdkBuilt(): Promise<void> {
  if (existsSync(SDK_ENTRY) && newestChange(path.join(SDK_DIR, 'src')) <= statSync(SDK_ENTRY).mtimeMs) return;
  await promisify(execFile)('npm', ['run', '--silent', 'build', '--workspace', 'sdk'], { cwd: ROOT });
}

/** A production build of the template exists, newer than its sources and the SDK it bundles. */
export const templateBuildIsCurrent = (): boolean =>
  nextBuildIsCurrent(TEMPLATE_DIR, [
    ...['src', 'next.config.ts', 'postcss.config.mjs', 'package.json', 'tsconfig.json'].map((input) => path.join(TEMPLATE_DIR, input)),
    path.join(SDK_DIR, 'dist'),
  ]);

/** The SDK, then the template's `next build`. */
export async function buildTemplate(onLine?: (line: string) => void): Promise<void> {
  await ensureSdkBuilt();
  await buildNextApp(TEMPLATE_DIR, onLine);
}
