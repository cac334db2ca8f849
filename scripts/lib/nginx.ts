import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The nginx binary, if Debian's package (or any nginx on PATH) is installed. */
export function findNginx(): string | undefined {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() || undefined : undefined;
}

export interface RunningNginx {
  url: string;
  stop(): Promise<void>;
}

/**
 * Runs the repository's nginx.conf unchanged but for where it listens and
 * where the gateway is (`listen 80` → `listenPort`, gateway → `gatewayAddress`),
 * with one worker so it is compared like for like with one Node process.
 */
export async function startNginx(options: {
  listenPort: number;
  gatewayAddress: string;
  /** Benchmarks compare proxying alone, so they drop nginx's per-IP limit. */
  withoutRateLimits?: boolean;
}): Promise<RunningNginx> {
  const nginx = findNginx();
  if (!nginx) throw new Error('nginx is not installed (apt-get install nginx)');
  const dir = await mkdtemp(path.join(tmpdir(), 'codex-nginx-'));
  // Workers drop root privileges; they must still reach their temp folders under the prefix.
  await chmod(dir, 0o755);
  const config = (await readFile(path.join(REPO_ROOT, 'nginx.conf'), 'utf8'))
    .replace(/listen 80;/, `listen 127.0.0.1:${options.listenPort};`)
    .replace(/server 127\.0\.0\.1:3000 /, `server ${options.gatewayAddress} `)
    .replace(/worker_processes auto;/, 'worker_processes 1;')
    .replace(options.withoutRateLimits ? /^\s*limit_req.*$/gm : /$^/, '');
  const configFile = path.join(dir, 'nginx.conf');
  await writeFile(configFile, config);
  const globals = `daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;`;
  const test = spawnSync(nginx, ['-t', '-p', dir, '-c', configFile, '-g', globals], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t rejected nginx.conf:\n${test.stderr}`);
  const child: ChildProcess = spawn(nginx, ['-p', dir, '-c', configFile, '-g', globals], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${options.listenPort}`;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      await fetch(`${url}/__nginx_ready__`);
      break;
    } catch {
      await delay(50);
    }
  }
  return {
    url,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGQUIT');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
