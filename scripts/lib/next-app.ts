import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Next's command-line entry (run with this Node, no npx); one install for the repository's Next.js apps. */
export const NEXT_BIN = require.resolve('next/dist/bin/next', { paths: [path.resolve(__dirname, '..', '..', 'admin-ui')] });
/** What a Next.js app's production build is made from. */
const INPUTS = ['src', 'next.config.ts', 'postcss.config.mjs', 'package.json', 'tsconfig.json'];

/** The latest modification time of a file, or of anything under a directory. */
export function newestChange(entry: string): number {
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(entry).map((name) => newestChange(path.join(entry, name))));
}

/** A production build of the app in `dir` exists and none of `inputs` (its sources, by default) changed after it was made. */
export function nextBuildIsCurrent(dir: string, inputs: string[] = INPUTS.map((input) => path.join(dir, input))): boolean {
  const buildId = path.join(dir, '.next', 'BUILD_ID');
  if (!existsSync(buildId)) return false;
  const built = statSync(buildId).mtimeMs;
  return inputs.every((input) => !existsSync(input) || newestChange(input) <= built);
}

/** `next build` of the app in `dir`, its output passed to `onLine`; rejects with the build's last lines when it fails. */
export function buildNextApp(dir: string, onLine: (line: string) => void = () => undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [NEXT_BIN, 'build', dir], {
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        onLine(line);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the build of ${path.basename(dir)} failed (exit ${code}):\n${tail.join('\n')}`))));
  });
}
