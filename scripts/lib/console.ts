import path from 'node:path';
import { buildNextApp, NEXT_BIN, nextBuildIsCurrent } from './next-app';

/** The admin console's workspace. */
export const CONSOLE_DIR = path.resolve(__dirname, '..', '..', 'admin-ui');

/** A production build of the console exists and none of its sources changed after it was made. */
export const consoleBuildIsCurrent = (): boolean => nextBuildIsCurrent(CONSOLE_DIR);

/** The console's `next build`, its output passed to `onLine`. */
export const buildConsole = (onLine?: (line: string) => void): Promise<void> => buildNextApp(CONSOLE_DIR, onLine);

/** The arguments (after Node itself) that serve the console: `next start`, or `next dev` while working on it. */
export function consoleArgs(mode: 'production' | 'dev', port: number, host: string): string[] {
  return [NEXT_BIN, mode === 'dev' ? 'dev' : 'start', CONSOLE_DIR, '--port', String(port), '--hostname', host];
}

/** The console's environment: where the gateway is, and no telemetry calls from an operator's box. */
export function consoleEnv(env: NodeJS.ProcessEnv, gatewayUrl: string, mode: 'production' | 'dev'): NodeJS.ProcessEnv {
  return { ...env, GATEWAY_URL: gatewayUrl, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: mode === 'dev' ? 'development' : 'production' };
}
