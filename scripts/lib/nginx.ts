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
  /** The API's address: https when TLS is on. */
  url: string;
  /** The nginx JSON access log. */
  accessLog: string;
  stop(): Promise<void>;
}

export interface NginxOptions {
  /** Where the plain-HTTP server listens (redirects to HTTPS; or, without `tls`, serves the API). */
  httpPort: number;
  /** The gateway instances (host:port) of the upstream. */
  gateways: string[];
  /** Serve HTTPS on this port with this certificate; without it, the API is served over plain HTTP (benchmarks). */
  tls?: { port: number; certificate: string; key: string };
  /** Benchmarks compare proxying alone, so they drop nginx's per-IP limit. */
  withoutRateLimits?: boolean;
  /** Replaces the networks that may read /metrics and /health/services (tests: loopback as the outside world). */
  operatorNetworks?: string[];
  /** The console's address (host:port), in place of 127.0.0.1:3100. */
  console?: string;
}

/**
 * Runs the repository's nginx.conf unchanged but for where it listens, where
 * the gateways are, its certificate, and its log and webroot paths; with one
 * worker so it is compared like for like with one Node process.
 */
export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  const nginx = findNginx();
  if (!nginx) throw new Error('nginx is not installed (apt-get install nginx)');
  const dir = await mkdtemp(path.join(tmpdir(), 'codex-nginx-'));
  // Workers drop root privileges; they must still reach their temp folders under the prefix.
  await chmod(dir, 0o755);
  let config = (await readFile(path.join(REPO_ROOT, 'nginx.conf'), 'utf8'))
    .replace(/worker_processes auto;/, 'worker_processes 1;')
    .replace(/^\s*listen \[::\]:\d+.*$/gm, '')
    .replace(/^(\s*)server 127\.0\.0\.1:3000 (.*)$/m, (_line, indent: string, rest: string) =>
      options.gateways.map((address) => `${indent}server ${address} ${rest}`).join('\n'),
    )
    .replace(/^\s*server 127\.0\.0\.1:3010 .*$/m, '')
    .replace(/server 127\.0\.0\.1:3100 /, `server ${options.console ?? '127.0.0.1:3100'} `)
    .replace(/\/var\/log\/nginx\//g, `${dir}/`)
    .replace(/\/var\/www\/certbot/g, `${dir}/webroot`);
  if (options.withoutRateLimits) config = config.replace(/^\s*limit_req.*$/gm, '');
  if (options.operatorNetworks) {
    config = config
      .replace(/^\s+[0-9a-f.:]+\/\d+\s+1;$/gm, '')
      .replace(/(geo \$codex_operator \{\n\s*default\s+0;)/, (block: string) => `${block}\n${options.operatorNetworks!.map((n) => `    ${n} 1;`).join('\n')}`);
  }
  if (options.tls) {
    config = config
      .replace(/listen 80;/, `listen 127.0.0.1:${options.httpPort};`)
      .replace(/listen 443 ssl http2;/, `listen 127.0.0.1:${options.tls.port} ssl http2;`)
      .replace(/ssl_certificate \S+;/, `ssl_certificate ${options.tls.certificate};`)
      .replace(/ssl_certificate_key \S+;/, `ssl_certificate_key ${options.tls.key};`)
      // A self-signed certificate names no OCSP responder.
      .replace(/^\s*ssl_stapling.*$/gm, '');
  } else {
    // Plain HTTP: the redirecting server goes, the API server listens without TLS.
    config = config
      .replace(/ {2}# Plain HTTP: only the ACME challenge[\s\S]*?\n {2}}\n\n {2}server \{/, '  server {')
      .replace(/listen 443 ssl http2;/, `listen 127.0.0.1:${options.httpPort};`)
      .replace(/^\s*(ssl_\w+ .*|add_header Strict-Transport-Security .*);$/gm, '');
  }
  const configFile = path.join(dir, 'nginx.conf');
  await writeFile(configFile, config);
  const globals = `daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;`;
  const test = spawnSync(nginx, ['-t', '-p', dir, '-c', configFile, '-g', globals], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t rejected nginx.conf:\n${test.stderr}`);
  const child: ChildProcess = spawn(nginx, ['-p', dir, '-c', configFile, '-g', globals], { stdio: 'ignore' });
  const url = options.tls ? `https://127.0.0.1:${options.tls.port}` : `http://127.0.0.1:${options.httpPort}`;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      await fetch(`http://127.0.0.1:${options.httpPort}/__nginx_ready__`);
      break;
    } catch {
      await delay(50);
    }
  }
  return {
    url,
    accessLog: path.join(dir, 'codex-access.log'),
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGQUIT');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
