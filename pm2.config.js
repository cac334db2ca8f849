// PM2 on a VPS: `npm ci && npm run build && npm run migrate`, then `pm2 start pm2.config.js`.
// Services read their settings from the environment (see README "Environment"); set them in
// the shell that runs pm2 or in an env file loaded before it.
const path = require('node:path');

const SERVICES = {
  gateway: 'gateway',
  auth: 'services/auth',
  billing: 'services/billing',
  subscription: 'services/subscription',
  crm: 'services/crm',
  client: 'services/client',
  admin: 'services/admin',
};

module.exports = {
  apps: Object.entries(SERVICES).map(([name, dir]) => ({
    name: `codex-${name}`,
    script: path.join(__dirname, dir, 'dist', 'main.js'),
    cwd: __dirname,
    exec_mode: 'fork',
    instances: 1,
    // PM2 sends SIGINT; a service drains in-flight requests for up to SHUTDOWN_TIMEOUT_MS (10 s).
    kill_timeout: 15000,
    max_memory_restart: '512M',
    time: true,
    env: { NODE_ENV: 'production' },
  })),
};
