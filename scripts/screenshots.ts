import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { FIRST_ADMIN_FILE } from './lib/bootstrap-admin';
import { OperatorError, runScript } from './lib/run-script';

/**
 * `npm run screenshots`: pictures of every console page, from a running platform (`npm start`), into
 * docs/screenshots/ for the README. A platform without tenants gets a few, made through the API as an
 * operator would, so the pictures show real answers of a real platform.
 *
 * Settings: CONSOLE_URL (http://127.0.0.1:3100/console), GATEWAY_URL (http://127.0.0.1:3000),
 * ADMIN_EMAIL and ADMIN_PASSWORD (default: DATA_DIR's first-admin.txt, as `npm start` wrote it; the
 * admin must not have MFA on), CHROMIUM_PATH (/usr/bin/chromium).
 */
const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'docs', 'screenshots');
const consoleUrl = (process.env.CONSOLE_URL ?? 'http://127.0.0.1:3100/console').replace(/\/+$/, '');
const gateway = (process.env.GATEWAY_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');

function adminCredentials(): { email: string; password: string } {
  if (process.env.ADMIN_EMAIL && process.env.ADMIN_PASSWORD) return { email: process.env.ADMIN_EMAIL, password: process.env.ADMIN_PASSWORD };
  const file = path.join(process.env.DATA_DIR ?? path.join(ROOT, '.data'), FIRST_ADMIN_FILE);
  if (!existsSync(file)) throw new OperatorError(`set ADMIN_EMAIL and ADMIN_PASSWORD (there is no ${file})`);
  const [email, password] = readFileSync(file, 'utf8').trim().split('\n');
  return { email: email!, password: password! };
}

async function api(method: string, route: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${gateway}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/** A few tenants, a paid plan and a flag on an empty platform; nothing on one that has tenants. */
async function seed(token: string): Promise<void> {
  const existing = await api('GET', '/api/v1/admin/tenants?limit=1', token);
  if (existing.status !== 200) throw new OperatorError(`the gateway answered ${existing.status} to the tenant list`);
  if (existing.body.total > 0) return;
  process.stdout.write('An empty platform: adding example tenants, a plan and a flag through the API…\n');
  await api('POST', '/api/v1/subscription/plans', token, {
    code: 'growth',
    name: 'Growth',
    amountMinor: 4900,
    currency: 'USD',
    interval: 'month',
    trialDays: 14,
    limits: { requestsPerMinute: 6000, apiCallsPerMonth: 5_000_000, maxUsers: 100, maxClients: 50_000, storageBytes: null },
    features: ['crm.pipelines', 'exports'],
  });
  await api('POST', '/api/v1/subscription/flags', token, {
    key: 'crm.ai-summaries',
    description: 'Summaries of a client’s activity on its page',
    rollout: { percentage: 30, stickiness: 'tenant' },
  });
  const names = ['Acme Widgets', 'Blue Harbor Dental', 'Copperline Logistics', 'Driftwood Studio', 'Evergreen Tutors', 'Foxglove Bakery'];
  for (const [index, name] of names.entries()) {
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    const created = await api('POST', '/api/v1/admin/tenants', token, { name, slug });
    if (created.status !== 201) continue;
    if (index % 3 === 1) await api('POST', `/api/v1/subscription/tenants/${created.body.tenant.id}/plan`, token, { plan: 'growth' });
    if (index === 4) await api('POST', `/api/v1/admin/tenants/${created.body.tenant.id}/suspend`, token);
  }
}

async function shoot(page: Page, name: string, route: string, ready: (page: Page) => Promise<unknown>): Promise<void> {
  await page.goto(`${consoleUrl}${route}`, { waitUntil: 'networkidle' });
  await ready(page);
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: false });
  process.stdout.write(`  docs/screenshots/${name}.png\n`);
}

async function main(): Promise<void> {
  const credentials = adminCredentials();
  const login = await fetch(`${gateway}/api/v1/auth/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(credentials),
  }).catch(() => {
    throw new OperatorError(`no platform answers at ${gateway}: start it with npm start`);
  });
  if (login.status !== 200) throw new OperatorError(`${credentials.email} could not sign in (${login.status}); set ADMIN_EMAIL and ADMIN_PASSWORD`);
  await seed(((await login.json()) as { accessToken: string }).accessToken);

  await mkdir(OUT, { recursive: true });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await shoot(page, 'sign-in', '/sign-in', (p) => p.getByLabel('Email').waitFor());
    await page.getByLabel('Email').fill(credentials.email);
    await page.getByLabel('Password').fill(credentials.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`^${consoleUrl}/?$`));
    await shoot(page, 'dashboard', '/', (p) => p.getByTestId('service-gateway-status').waitFor());
    await shoot(page, 'tenants', '/tenants', (p) => p.getByRole('table', { name: 'Tenants' }).locator('tbody tr').first().waitFor());
    await page.getByRole('table', { name: 'Tenants' }).locator('tbody tr a').first().click();
    await page.getByRole('table', { name: 'API keys' }).locator('tbody tr').first().waitFor();
    await page.screenshot({ path: path.join(OUT, 'tenant.png') });
    process.stdout.write('  docs/screenshots/tenant.png\n');
    await shoot(page, 'plans', '/plans', (p) => p.getByRole('table', { name: 'Plans' }).locator('tbody tr').first().waitFor());
    await shoot(page, 'audit', '/audit', (p) => p.getByRole('table', { name: 'Audit entries' }).locator('tbody tr').first().waitFor());
    await shoot(page, 'config', '/config', (p) => p.getByLabel('Default plan').waitFor());
    await page.emulateMedia({ colorScheme: 'dark' });
    await shoot(page, 'dashboard-dark', '/', (p) => p.getByTestId('service-gateway-status').waitFor());
  } finally {
    await browser.close();
  }
}

runScript('screenshots', main);
