// PM2 on a VPS: `npm ci && npm run build && npm run migrate`, then `pm2 start pm2.config.js`.
// Settings come from one env file (CODEX_ENV_FILE, default .env beside this file; see .env.example)
// merged over the shell's environment. Every app runs in cluster mode with two instances by default,
// so `pm2 reload all` replaces them one at a time with no failed request (test/pm2.int.test.ts).
// Logs are JSON lines as the services write them (no PM2 time prefix); rotate them with pm2-logrotate
// (`pm2 install pm2-logrotate`) or logrotate on ~/.pm2/logs.
const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');
const { parseEnv } = require('node:util');

const envFile = process.env.CODEX_ENV_FILE || path.join(__dirname, '.env');
const fileEnv = existsSync(envFile) ? parseEnv(readFileSync(envFile, 'utf8')) : {};
const env = { NODE_ENV: 'production', ...process.env, ...fileEnv };
const shutdownMs = Number(env.SHUTDOWN_TIMEOUT_MS || 10000);
// scripts/deploy.sh points this at the `current` link, so a reload starts whichever release it names.
const root = process.env.CODEX_RELEASE_DIR || __dirname;

const SERVICES = {
  gateway: 'gateway',
  auth: 'services/auth',
  billing: 'services/billing',
  subscription: 'services/subscription',
  crm: 'services/crm',
  client: 'services/client',
  admin: 'services/admin',
};

const services = Object.entries(SERVICES).map(([name, dir]) => ({
  name: `codex-${name}`,
  script: path.join(root, dir, 'dist', 'main.js'),
  cwd: root,
  exec_mode: 'cluster',
  instances: Number(name === 'gateway' ? env.GATEWAY_INSTANCES || 2 : env.SERVICE_INSTANCES || 2),
  // A reload starts the new instance, waits for its 'ready' (sent once it listens), then stops the old one.
  wait_ready: true,
  listen_timeout: 20000,
  // PM2 sends SIGINT; a service drains in-flight requests for up to SHUTDOWN_TIMEOUT_MS, then exits.
  kill_timeout: shutdownMs + 5000,
  max_memory_restart: env.MAX_MEMORY_RESTART || '512M',
  time: false,
  merge_logs: true,
  env,
}));

// The console (admin-ui, built by `npm run build -w admin-ui`): one Next.js server, in fork mode (it is
// not written for PM2's cluster IPC); nginx routes /console/ to it. CONSOLE=off leaves it out.
const consoleApp = {
  name: 'codex-console',
  script: path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next'),
  args: ['start', path.join(root, 'admin-ui'), '--port', String(env.CONSOLE_PORT || 3100), '--hostname', env.HOST || '127.0.0.1'],
  cwd: root,
  exec_mode: 'fork',
  instances: 1,
  kill_timeout: shutdownMs + 5000,
  max_memory_restart: env.MAX_MEMORY_RESTART || '512M',
  time: false,
  env: { ...env, NEXT_TELEMETRY_DISABLED: '1', GATEWAY_URL: env.GATEWAY_URL || `http://127.0.0.1:${env.GATEWAY_PORT || 3000}` },
};

module.exports = {
  apps: env.CONSOLE === 'off' ? services : [...services, consoleApp],
};
