import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** The admin console's workspace, and Next's command-line entry (run with this Node, no npx). */
export const CONSOLE_DIR = path.resolve(__dirname, '..', '..', 'admin-ui');
export const NEXT_BIN = require.resolve('next/dist/bin/next', { paths: [CONSOLE_DIR] });
const BUILD_ID = path.join(CONSOLE_DIR, '.next', 'BUILD_ID');
const INPUTS = ['src', 'next.config.ts', 'postcss.config.mjs', 'package.json', 'tsconfig.json'];

function newestChange(entry: string): number {
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(entry).map((name) => newestChange(path.join(entry, name))));
}

/** A production build exists and no source of the console changed after it was made. */
export function consoleBuildIsCurrent(): boolean {
  if (!existsSync(BUILD_ID)) return false;
  const built = statSync(BUILD_ID).mtimeMs;
  return INPUTS.every((input) => !existsSync(path.join(CONSOLE_DIR, input)) || newestChange(path.join(CONSOLE_DIR, input)) <= built);
}

/** `next build`, its output passed to `onLine`; rejects with the build's last lines when it fails. */
export function buildConsole(onLine: (line: string) => void = () => undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [NEXT_BIN, 'build', CONSOLE_DIR], {
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
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the console's build failed (exit ${code}):\n${tail.join('\n')}`))));
  });
}

/** The arguments (after Node itself) that serve the console: `next start`, or `next dev` while working on it. */
export function consoleArgs(mode: 'production' | 'dev', port: number, host: string): string[] {
  return [NEXT_BIN, mode === 'dev' ? 'dev' : 'start', CONSOLE_DIR, '--port', String(port), '--hostname', host];
}

/** The console's environment: where the gateway is, and no telemetry calls from an operator's box. */
export function consoleEnv(env: NodeJS.ProcessEnv, gatewayUrl: string, mode: 'production' | 'dev'): NodeJS.ProcessEnv {
  return { ...env, GATEWAY_URL: gatewayUrl, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: mode === 'dev' ? 'development' : 'production' };
}
