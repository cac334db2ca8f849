/// <reference lib="dom" />
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { ScureBase32Plugin } from '@otplib/plugin-base32-scure';
import { NodeCryptoPlugin } from '@otplib/plugin-crypto-node';
import { generate } from '@otplib/totp';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { SERVICE_NAMES } from '@codex/shared';
import { buildConsole, consoleBuildIsCurrent } from '../../scripts/lib/console';
import { portHolder } from '../../scripts/lib/port-holder';
import { type AxeViolation, CHROMIUM, CHROMIUM_ARGS, describeWithBrowser, expectText, loadTiming, seriousViolations } from '../../test/support/browser';
import { call, freePorts } from '../../test/support/launch';
import { takeMachineTurn, type MachineTurn } from '../../test/support/machine-turn';
import { launchPlatform, type LaunchedPlatform, recordMeasurements } from '../../test/support/launched-platform';

const ADMIN_EMAIL = 'admin@codex.local';
const ADMIN_PASSWORD = 'console-test-admin-password';
const otp = { crypto: new NodeCryptoPlugin(), base32: new ScureBase32Plugin() };
/** The code an authenticator app shows, `stepsAhead` periods of 30 s from now (each step is accepted once). */
const codeFor = (secret: string, stepsAhead: number) => generate({ secret, ...otp, epoch: Math.floor(Date.now() / 1000) + stepsAhead * 30 });

/** Every page of the console, for the accessibility pass. */
const PAGES = ['/', '/tenants', '/plans', '/billing', '/admins', '/audit', '/config', '/api-docs'];

describeWithBrowser('the console (admin-ui) in a real browser against a running platform', () => {
  jest.setTimeout(180_000);
  let turn: MachineTurn | undefined;
  let platform: LaunchedPlatform | undefined;
  let gateway: string;
  let consoleUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let mfaSecret: string;
  let operatorToken: string;
  const measurements: Record<string, unknown> = {};

  const portOf = (name: (typeof SERVICE_NAMES)[number]) => platform!.portOf(name);

  beforeAll(async () => {
    turn = await takeMachineTurn();
    // A production build, as operators run it; made once, reused while admin-ui is unchanged.
    if (!consoleBuildIsCurrent()) await buildConsole();
    const [consolePort] = await freePorts(1);
    platform = await launchPlatform('console', {
      ADMIN_PASSWORD,
      // The registry polls every 2 s, so a killed service is seen within one dashboard refresh.
      SERVICE_POLL_MS: '2000',
      CONSOLE_PORT: String(consolePort),
    });
    gateway = platform.gateway;
    consoleUrl = `http://127.0.0.1:${consolePort}/console`;

    // The first admin turns on MFA through the API; the browser then signs in with its second step.
    const login = await call(gateway, 'POST', '/api/v1/auth/admin/login', { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
    operatorToken = login.body.accessToken;
    const enrolment = await call(gateway, 'POST', '/api/v1/auth/admin/mfa/enrol', { token: operatorToken });
    mfaSecret = enrolment.body.secret;
    const activated = await call(gateway, 'POST', '/api/v1/auth/admin/mfa/activate', { token: operatorToken, body: { code: await codeFor(mfaSecret, 0) } });
    expect(activated.status).toBe(200);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    await recordMeasurements('console', measurements);
    await turn?.end();
  });

  it('when an admin with MFA opens a page signed out, then the sign-in asks for the password, then the code, and returns to that page', async () => {
    await page.goto(`${consoleUrl}/audit`);
    await page.waitForURL(/\/console\/sign-in\?next=%2Faudit$/);
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectText(page.getByRole('alert'), /INVALID_CREDENTIALS|not match|invalid/i);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Authentication code').fill(await codeFor(mfaSecret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${consoleUrl}/audit`);
    // The tokens are httpOnly, SameSite=Strict cookies: no script can read them.
    const cookies = await context.cookies();
    const session = cookies.filter((cookie) => cookie.name.startsWith('cdx_'));
    expect(session.map((cookie) => [cookie.name, cookie.httpOnly, cookie.sameSite]).sort()).toEqual([
      ['cdx_access', true, 'Strict'],
      ['cdx_refresh', true, 'Strict'],
    ]);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(await page.evaluate(() => JSON.stringify(localStorage))).toBe('{}');
  });

  it('when the dashboard loads cold, then every service is up, the numbers are labelled with their age, and load ends within the seed target', async () => {
    // The server has served the page once (as after any deploy's first visitor); the browser's cache is cold:
    // each load is in a new context, which shares no cache with the signed-in one, only its cookies.
    await page.goto(`${consoleUrl}/`, { waitUntil: 'load' });
    const loads: Array<Awaited<ReturnType<typeof loadTiming>>> = [];
    let coldPage!: Page;
    let cold!: BrowserContext;
    for (let run = 0; run < 3; run++) {
      await cold?.close();
      cold = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await cold.addCookies(await context.cookies());
      coldPage = await cold.newPage();
      await coldPage.goto(`${consoleUrl}/`, { waitUntil: 'load' });
      loads.push(await loadTiming(coldPage));
    }
    const median = [...loads].sort((a, b) => a.loadMs - b.loadMs)[1]!;
    measurements.dashboardColdLoad = { median, loads, node: process.versions.node, at: new Date().toISOString() };
    process.stdout.write(`console dashboard cold load (median of 3): ${JSON.stringify(median)}\n`);
    expect(median.loadMs).toBeGreaterThan(0);
    for (const name of SERVICE_NAMES) await expectText(coldPage.getByTestId(`service-${name}-status`), 'up', 20_000);
    await expectText(coldPage.getByTestId('updated'), /updated (just now|\d+ s ago)/);
    // Requests per minute come from GET /api/v1/admin/traffic, which the gateways feed.
    await expectText(coldPage.getByTestId('requests-per-minute'), /^\d[\d,]*$/);
    expect(await coldPage.getByTestId('stale-banner').count()).toBe(0);
    await cold.close();
  });

  it('when a tenant is created with the keyboard only, then its key is shown once and works; suspended in the console, the gateway refuses that key', async () => {
    await page.goto(`${consoleUrl}/tenants`);
    await page.getByRole('button', { name: 'New tenant' }).focus();
    await page.keyboard.press('Enter');
    const slug = `kb-${randomBytes(3).toString('hex')}`;
    await page.keyboard.type(`Keyboard ${slug}`);
    await page.keyboard.press('Tab');
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type(slug);
    await page.keyboard.press('Enter');
    const key = (await page.getByTestId('shown-once').textContent())!.trim();
    expect(key).toMatch(/^cmk_/);
    const credentials = { email: `owner@${slug}.example`, password: 'correct horse battery' };
    expect((await call(gateway, 'POST', '/api/v1/auth/register', { key, body: credentials })).status).toBe(201);

    await page.getByRole('link', { name: 'Open tenant' }).click();
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    // Gateways cache a key's tenant briefly; the suspension is in force everywhere within 5 s.
    const refused = await eventually(
      () => call(gateway, 'POST', '/api/v1/auth/login', { key, body: credentials }),
      (answer) => answer.status === 403,
    );
    expect(refused.body.error.code).toBe('TENANT_SUSPENDED');
    expect(await seriousViolations(page)).toEqual([]);
    // Resumed, the same key works again.
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('button', { name: 'Suspend' }).waitFor();
    expect(
      (
        await eventually(
          () => call(gateway, 'POST', '/api/v1/auth/login', { key, body: credentials }),
          (answer) => answer.status === 200,
        )
      ).status,
    ).toBe(200);
  });

  it('when the API refuses a form, then its message appears beside the field and what was typed stays', async () => {
    await page.goto(`${consoleUrl}/tenants`);
    await page.getByRole('button', { name: 'New tenant' }).click();
    await page.getByLabel('Name').fill('Bad slug tenant');
    await page.getByLabel('Slug').fill('Not A Slug!');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await expectText(page.locator('[aria-invalid="true"] + p, [id$="-error"]').first(), /.+/);
    expect(await page.getByLabel('Slug').inputValue()).toBe('Not A Slug!');
    expect(await page.getByLabel('Name').inputValue()).toBe('Bad slug tenant');
    await page.keyboard.press('Escape');
  });

  it("when a plan and a flag are made in the console and a tenant's plan is changed there, then the platform has them", async () => {
    await page.goto(`${consoleUrl}/plans`);
    await page.getByRole('button', { name: 'New plan' }).click();
    await page.getByLabel('Code').fill('growth');
    await page.getByLabel('Name').fill('Growth');
    await page.getByLabel('Price per interval').fill('49');
    await page.getByLabel('Clients').fill('10000');
    await page.getByRole('button', { name: 'Create plan' }).click();
    await expectText(page.getByRole('table', { name: 'Plans' }).locator('tbody tr').filter({ hasText: 'growth' }).locator('td').first(), '$49.00 / month');
    const plan = await call(gateway, 'GET', '/api/v1/subscription/plans/growth', { token: operatorToken });
    expect(plan.body.latest).toMatchObject({ amountMinor: 4900, currency: 'USD', limits: { maxClients: 10_000, maxUsers: null } });

    // A new flag starts on for no one; the slider, moved by keyboard, sets its rollout.
    await page.getByRole('button', { name: 'New flag' }).click();
    await page.getByLabel('Key').fill('console.test-flag');
    await page.getByRole('button', { name: 'Create flag' }).click();
    const slider = page.getByLabel('Rollout');
    await slider.waitFor();
    await slider.focus();
    for (let step = 0; step < 25; step++) await page.keyboard.press('ArrowRight');
    await expectText(page.locator('output'), /^25% — about \d+ of \d+ tenants?$/);
    await page.getByRole('button', { name: 'Save' }).click();
    const flag = await eventually(
      () => call(gateway, 'GET', '/api/v1/subscription/flags/console.test-flag', { token: operatorToken }),
      (answer) => answer.body.rollout?.percentage === 25,
    );
    expect(flag.body.rollout.percentage).toBe(25);

    const slug = `plan-${randomBytes(3).toString('hex')}`;
    const created = await call(gateway, 'POST', '/api/v1/admin/tenants', { token: operatorToken, body: { name: slug, slug } });
    await page.goto(`${consoleUrl}/tenants/${created.body.tenant.id}`);
    await page.getByLabel('Plan', { exact: true }).selectOption('growth');
    await page.getByRole('button', { name: 'Change plan' }).click();
    await expectText(page.getByTestId('tenant-plan'), 'growth');
    const tenant = await call(gateway, 'GET', `/api/v1/admin/tenants/${created.body.tenant.id}`, { token: operatorToken });
    expect(tenant.body.plan).toBe('growth');
  });

  it('when the audit log is filtered and verified, then only matching entries show and the chain is reported intact', async () => {
    await page.goto(`${consoleUrl}/audit`);
    await page.getByLabel('Action').fill('tenant.suspended');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const rows = page.getByRole('table', { name: 'Audit entries' }).locator('tbody tr');
    await rows.first().waitFor();
    const actions = await rows.locator('td:nth-child(3)').allTextContents();
    expect(actions.length).toBeGreaterThan(0);
    expect(new Set(actions)).toEqual(new Set(['tenant.suspended']));
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await expectText(page.getByTestId('verify-result'), /Chain intact/);
  });

  it('when every page is checked with axe-core, in light and dark mode and at tablet width, then none has a serious or critical violation', async () => {
    const found: Record<string, AxeViolation[]> = {};
    const jsBytesPerPage: Record<string, number> = {};
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      for (const pagePath of PAGES) {
        await page.goto(`${consoleUrl}${pagePath}`, { waitUntil: 'networkidle' });
        const violations = await seriousViolations(page);
        if (violations.length) found[`${colorScheme} ${pagePath}`] = violations;
        if (colorScheme === 'light') jsBytesPerPage[pagePath] = await scriptBytes(page);
      }
    }
    measurements.jsBytesPerPage = jsBytesPerPage;
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 768, height: 1024 });
    try {
      for (const pagePath of ['/', '/tenants']) {
        await page.goto(`${consoleUrl}${pagePath}`, { waitUntil: 'networkidle' });
        const violations = await seriousViolations(page);
        if (violations.length) found[`768px ${pagePath}`] = violations;
        // Nothing wider than the screen: no sideways scrolling of the page itself.
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(768);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
    expect(found).toEqual({});
  });

  it('when a service is killed and held down, then the dashboard shows it down within 10 s, and up again after it returns', async () => {
    await page.goto(`${consoleUrl}/`);
    const status = page.getByTestId('service-crm-status');
    await expectText(status, 'up', 20_000);
    const holder = portHolder(portOf('crm'));
    expect(holder).toBeDefined();
    process.kill(holder!.pid, 'SIGKILL');
    // Something else takes its port (answering nothing), so the launcher's restarts fail until it is let go.
    const squatter = await squat(portOf('crm'));
    const killedAt = Date.now();
    await expectText(status, 'down', 10_000);
    measurements.killedServiceShownDownMs = Date.now() - killedAt;
    await squatter.release();
    await expectText(status, 'up', 60_000);
  });

  it('when the gateway stops answering, then the dashboard says so and keeps the old numbers labelled, and clears when it answers again', async () => {
    await page.goto(`${consoleUrl}/`);
    await expectText(page.getByTestId('service-gateway-status'), 'up', 20_000);
    const holder = portHolder(portOf('gateway'))!;
    process.kill(holder.pid, 'SIGSTOP');
    try {
      await expectText(page.getByTestId('stale-banner'), /unreachable|overdue|failed/, 20_000);
      expect(await page.getByTestId('service-gateway-status').count()).toBe(1);
    } finally {
      process.kill(holder.pid, 'SIGCONT');
    }
    await page.getByTestId('stale-banner').waitFor({ state: 'detached', timeout: 20_000 });
  });

  it('when a viewer signs in, then no button it cannot use is shown, and the API still refuses the change', async () => {
    const email = `viewer-${randomBytes(3).toString('hex')}@platform.example`;
    const added = await call(gateway, 'POST', '/api/v1/admin/admins', { token: operatorToken, body: { email, role: 'viewer' } });
    expect(added.status).toBe(201);
    const password = 'a viewer password 123';
    expect((await call(gateway, 'POST', '/api/v1/auth/admin/password', { body: { token: added.body.passwordToken, password } })).status).toBe(204);
    const viewerContext = await browser.newContext();
    const viewer = await viewerContext.newPage();
    await viewer.goto(`${consoleUrl}/sign-in`);
    await viewer.getByLabel('Email').fill(email);
    await viewer.getByLabel('Password').fill(password);
    await viewer.getByRole('button', { name: 'Sign in' }).click();
    await viewer.waitForURL(new RegExp(`^${consoleUrl}/?$`));
    await viewer.goto(`${consoleUrl}/tenants`);
    await viewer.getByRole('table', { name: 'Tenants' }).locator('tbody tr a').first().click();
    await viewer.getByRole('table', { name: 'API keys' }).waitFor();
    for (const name of ['Suspend', 'Resume', 'Delete', 'Issue key', 'Change plan']) expect(await viewer.getByRole('button', { name }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: /Rotate|Revoke/ }).count()).toBe(0);
    await viewer.goto(`${consoleUrl}/tenants`);
    expect(await viewer.getByRole('button', { name: 'New tenant' }).count()).toBe(0);
    expect(await viewer.getByRole('link', { name: 'Audit log' }).count()).toBe(0);
    // The console hides; the API decides: the viewer's own session is refused a change.
    const attempt = await viewer.evaluate(async () => {
      const response = await fetch('/console/api/gateway/admin/tenants', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"x","slug":"x-viewer"}',
      });
      return response.status;
    });
    expect(attempt).toBe(403);
    await viewerContext.close();

    // A super admin changes the viewer's role in the console; the platform has it.
    await page.goto(`${consoleUrl}/admins`);
    await page.getByLabel(`Role of ${email}`).selectOption('support');
    const promoted = await eventually(
      () => call(gateway, 'GET', `/api/v1/admin/admins/${added.body.admin.id}`, { token: operatorToken }),
      (answer) => answer.body.role === 'support',
    );
    expect(promoted.body.role).toBe('support');
  });

  it('when a change is posted from another origin, then the console refuses it before it reaches the platform', async () => {
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const response = await fetch(`${consoleUrl}/api/gateway/admin/tenants`, {
      method: 'POST',
      headers: { cookie, origin: 'http://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'csrf', slug: 'csrf-attempt' }),
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('CSRF_REJECTED');
  });

  it('when the access cookie has expired, then the next page refreshes the session without a sign-in', async () => {
    const refreshOnly = (await context.cookies()).filter((cookie) => cookie.name !== 'cdx_access');
    await context.clearCookies();
    await context.addCookies(refreshOnly);
    await page.goto(`${consoleUrl}/tenants`);
    await page.getByRole('table', { name: 'Tenants' }).waitFor();
    expect(page.url()).toBe(`${consoleUrl}/tenants`);
    expect((await context.cookies()).some((cookie) => cookie.name === 'cdx_access')).toBe(true);
  });
});

/** The JavaScript a full load of the page fetched (its size as served, before compression; from cache or not). */
function scriptBytes(page: Page): Promise<number> {
  return page.evaluate(() =>
    (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
      .filter((entry) => entry.initiatorType === 'script')
      .reduce((sum, entry) => sum + entry.decodedBodySize, 0),
  );
}

/** Retries `action` for up to 10 s until `done` holds; answers the last result either way. */
async function eventually<T>(action: () => Promise<T>, done: (result: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const result = await action();
    if (done(result) || Date.now() > deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Takes a port and answers nothing on it (a health probe there times out) until released. */
async function squat(port: number): Promise<{ release(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const release = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
      return { release };
    } catch (err) {
      if (attempt > 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
