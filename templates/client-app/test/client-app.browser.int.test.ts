/// <reference lib="dom" />
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { buildTemplate, TEMPLATE_DIR, templateBuildIsCurrent } from '../../../scripts/lib/client-app';
import { NEXT_BIN } from '../../../scripts/lib/next-app';
import { CHROMIUM, CHROMIUM_ARGS, describeWithBrowser, expectText, loadTiming, seriousViolations } from '../../../test/support/browser';
import { call } from '../../../test/support/launch';
import { launchPlatform, type LaunchedPlatform, recordMeasurements } from '../../../test/support/launched-platform';
import { takeMachineTurn, type MachineTurn } from '../../../test/support/machine-turn';
import { REPO_ROOT } from '../../../test/support/processes';

/** What a browser may download of a production build: its JavaScript and CSS, as served and gzipped. */
async function staticAssetSizes(dir: string) {
  const files = (await readdir(dir, { recursive: true })).filter((name) => /\.(js|css)$/.test(name));
  const sizes = { jsFiles: 0, jsBytes: 0, jsGzipBytes: 0, cssBytes: 0 };
  for (const name of files) {
    const content = await readFile(path.join(dir, name));
    if (name.endsWith('.css')) sizes.cssBytes += content.length;
    else {
      sizes.jsFiles += 1;
      sizes.jsBytes += content.length;
      sizes.jsGzipBytes += gzipSync(content).length;
    }
  }
  return sizes;
}

/** Runs a command to its end: exit code and all its output. */
function run(command: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/**
 * NextAuth's own cookie codec, to read and alter the session as the app's server would. Required rather than
 * imported: its types pull in Next's global ones, which change `process.env` for the whole test program.
 */
const { decode, encode } = require('next-auth/jwt') as {
  encode(params: { token: Record<string, unknown>; secret: string }): Promise<string>;
  decode(params: { token: string; secret: string }): Promise<Record<string, unknown> | null>;
};

const ADMIN_EMAIL = 'admin@codex.local';
const ADMIN_PASSWORD = 'template-test-admin-password';
const PASSWORD = 'correct horse battery';

describeWithBrowser('the client-app template (Next.js + NextAuth + SDK) in a real browser against a running platform', () => {
  jest.setTimeout(180_000);
  let turn: MachineTurn | undefined;
  let platform: LaunchedPlatform | undefined;
  let app: ChildProcess | undefined;
  let gateway: string;
  let appUrl: string;
  let operatorToken: string;
  let tenantKey: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const user = { name: 'Ada Lovelace', email: `ada-${randomBytes(3).toString('hex')}@app.example` };
  const measurements: Record<string, unknown> = {};
  const sessionSecret = randomBytes(32).toString('base64');

  beforeAll(async () => {
    turn = await takeMachineTurn();
    const started = Date.now();
    const built = !templateBuildIsCurrent();
    if (built) await buildTemplate();
    measurements.build = { ...(built ? { ms: Date.now() - started } : {}), ...(await staticAssetSizes(path.join(TEMPLATE_DIR, '.next', 'static'))) };
    platform = await launchPlatform('template', { ADMIN_PASSWORD, CONSOLE: 'off' }, { sparePorts: 1 });
    gateway = platform.gateway;

    // A new tenant, as an operator makes it; its app runs with the key it was given.
    operatorToken = (await call(gateway, 'POST', '/api/v1/auth/admin/login', { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } })).body.accessToken;
    const slug = `app-${randomBytes(3).toString('hex')}`;
    const tenant = await call(gateway, 'POST', '/api/v1/admin/tenants', { token: operatorToken, body: { name: slug, slug } });
    expect(tenant.status).toBe(201);
    tenantKey = tenant.body.apiKey.key;
    // A plan of one client, so the entitlements banner has something to say once the user adds one.
    const plan = `tiny-${randomBytes(3).toString('hex')}`;
    const limits = { requestsPerMinute: null, apiCallsPerMonth: null, maxUsers: null, maxClients: 1, storageBytes: null };
    expect(
      (
        await call(gateway, 'POST', '/api/v1/subscription/plans', {
          token: operatorToken,
          body: { code: plan, name: 'Tiny', amountMinor: 0, currency: 'EUR', interval: 'month', limits, features: ['crm.deals'] },
        })
      ).status,
    ).toBe(201);
    expect((await call(gateway, 'POST', `/api/v1/subscription/tenants/${tenant.body.tenant.id}/plan`, { token: operatorToken, body: { plan } })).status).toBe(
      200,
    );

    const appPort = platform.spare[0]!;
    appUrl = `http://127.0.0.1:${appPort}`;
    app = spawn(process.execPath, [NEXT_BIN, 'start', TEMPLATE_DIR, '--port', String(appPort), '--hostname', '127.0.0.1'], {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        NEXT_TELEMETRY_DISABLED: '1',
        CDX_API_URL: gateway,
        CDX_API_KEY: tenantKey,
        NEXTAUTH_SECRET: sessionSecret,
        NEXTAUTH_URL: appUrl,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    for (let ready = false; !ready; ) {
      ready = await fetch(`${appUrl}/sign-in`).then(
        (response) => response.ok,
        () => false,
      );
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    app?.kill('SIGTERM');
    await platform?.stop();
    await recordMeasurements('template', measurements);
    await turn?.end();
  });

  it("when the README's examples are run against the platform, then first-tenant.sh makes a tenant and the SDK script works with its key", async () => {
    const script = await run('bash', [path.join(REPO_ROOT, 'examples', 'first-tenant.sh')], {
      CDX_API_URL: gateway,
      ADMIN_PASSWORD,
      SLUG: `ex-${randomBytes(3).toString('hex')}`,
    });
    expect({ code: script.code, output: script.code === 0 ? '' : script.output }).toEqual({ code: 0, output: '' });
    const key = script.output.match(/^API key: (cmk_\S+)$/m)?.[1];
    expect(key).toBeDefined();
    const sdk = await run(process.execPath, [path.join(REPO_ROOT, 'examples', 'first-tenant-sdk.mjs')], { CDX_API_URL: gateway, CDX_API_KEY: key! });
    expect(sdk.output).toMatch(/client [0-9a-f-]{36} Globex Corporation/);
    expect(sdk.output).toMatch(/2 clients in all/);
    expect(sdk.output).toMatch(/deal "First deal" is now in /);
    expect(sdk.output).toMatch(/refused as expected: \{ name: /);
    expect({ code: sdk.code, output: sdk.code === 0 ? '' : sdk.output }).toEqual({ code: 0, output: '' });
  });

  /** Signs in as the user through the API, for checks the browser's view cannot make. */
  const userToken = async () =>
    (await call(gateway, 'POST', '/api/v1/auth/login', { key: tenantKey, body: { email: user.email, password: PASSWORD } })).body.accessToken as string;

  it('when a new user signs up, then they are signed in, and neither the API key nor the platform tokens reach the browser', async () => {
    await page.goto(`${appUrl}/clients`);
    await page.waitForURL(/\/sign-in\?callbackUrl=%2Fclients$/);
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Name').fill(user.name);
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel(/^Password/).fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    // The platform's own field problem, beside the field.
    await expectText(page.locator('#password-error'), /.+/);
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${appUrl}/clients`);
    await expectText(page.getByTestId('signed-in-as'), user.email);
    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === 'next-auth.session-token')!;
    expect([session.httpOnly, session.sameSite]).toEqual([true, 'Lax']);
    expect(await page.evaluate(() => document.cookie)).not.toContain('session-token');
    const sessionAsSeen = await page.evaluate(async () => JSON.stringify(await (await fetch('/api/auth/session')).json()));
    expect(sessionAsSeen).toContain(user.email);
    expect(sessionAsSeen).not.toMatch(/accessToken|refreshToken|rt_|eyJ/);
    expect(await page.content()).not.toContain(tenantKey);
    // The app's proxy passes a tenant app's routes only: the operators' API is not reachable through it.
    expect(await page.evaluate(async () => (await fetch('/api/cdx/api/v1/admin/tenants')).status)).toBe(404);
  });

  it('when the user adds a client, then it is listed, searchable, opens, and the plan banner says the one-client plan is used up', async () => {
    await expectText(page.getByText(/No clients yet/), /No clients yet/);
    await page.getByLabel("New client's name").fill('Babbage & Co');
    await page.getByLabel('Email (optional)').fill('charles@babbage.example');
    await page.getByRole('button', { name: 'Add client' }).click();
    await expectText(page.getByRole('link', { name: 'Babbage & Co' }), 'Babbage & Co');
    await page.getByLabel('Search clients').fill('babbage');
    await page.getByRole('button', { name: 'Search' }).click();
    await expectText(page.getByRole('link', { name: 'Babbage & Co' }), 'Babbage & Co');
    await page.getByRole('link', { name: 'Babbage & Co' }).click();
    await expectText(page.getByRole('heading', { level: 1 }), 'Babbage & Co');
    const clients = await call(gateway, 'GET', '/api/v1/client/clients?q=babbage', { key: tenantKey, token: await userToken() });
    expect(clients.body.items.map((client: { name: string }) => client.name)).toEqual(['Babbage & Co']);
    await page.reload();
    await expectText(page.getByTestId('entitlements-banner'), /1 of 1 clients/);
  });

  it('when the user creates a deal, then it moves between stages by drag and by keyboard, persisted; a move based on an old version is rolled back', async () => {
    await page.getByRole('link', { name: 'Deals' }).click();
    await page.waitForURL(`${appUrl}/deals`);
    // The board is drawn once the page is live (hydrated, pipelines loaded): a form used before then would submit natively.
    await page.locator('[data-testid^="stage-"]').first().waitFor();
    await page.getByLabel('Deal title').fill('Analytical Engine');
    await page.getByLabel('Value (EUR)').fill('1200');
    await page.getByRole('button', { name: 'Add deal' }).click();
    const card = page.getByRole('listitem', { name: /Analytical Engine/ });
    await expectText(card, /Analytical Engine/);
    const stages = await page.locator('[data-testid^="stage-"]').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('aria-label')!));
    expect(stages.length).toBeGreaterThanOrEqual(3);
    const inStage = (stage: string) => page.getByTestId(`stage-${stage}`).getByRole('listitem', { name: /Analytical Engine/ });
    await expectText(inStage(stages[0]!), /Analytical Engine/);

    await card.dragTo(page.getByTestId(`stage-${stages[1]}`));
    await expectText(page.getByTestId('board-announcement'), new RegExp(`moved to ${stages[1]}`));
    await card.focus();
    await page.keyboard.press('ArrowRight');
    await expectText(page.getByTestId('board-announcement'), new RegExp(`moved to ${stages[2]}`));
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toMatch(/Analytical Engine/);
    await page.reload();
    await expectText(inStage(stages[2]!), /Analytical Engine/);
    expect(await seriousViolations(page)).toEqual([]);

    // Someone else moves it back meanwhile; this page still holds the old version: its move is refused and undone.
    const token = await userToken();
    const deals = await call(gateway, 'GET', '/api/v1/crm/deals', { key: tenantKey, token });
    const deal = deals.body.items[0];
    const pipelines = await call(gateway, 'GET', '/api/v1/crm/pipelines', { key: tenantKey, token });
    const firstStage = pipelines.body.items[0].stages.find((stage: { name: string }) => stage.name === stages[0]);
    expect((await call(gateway, 'POST', `/api/v1/crm/deals/${deal.id}/move`, { key: tenantKey, token, body: { stageId: firstStage.id } })).status).toBe(200);
    await inStage(stages[2]!).focus();
    await page.keyboard.press('ArrowLeft');
    await expectText(page.getByRole('alert'), /changed by someone else/);
    await expectText(inStage(stages[0]!), /Analytical Engine/);
  });

  it('when the tenant publishes a page, then the app shows it to anyone at /content/<type>/<slug>, and a missing one is a 404', async () => {
    const token = await userToken();
    const created = await call(gateway, 'POST', '/api/v1/client/content', {
      key: tenantKey,
      token,
      body: { type: 'page', slug: 'welcome', title: 'Welcome aboard', bodyFormat: 'markdown', body: 'Hello from the platform.' },
    });
    expect(created.status).toBe(201);
    expect((await call(gateway, 'POST', `/api/v1/client/content/${created.body.id}/publish`, { key: tenantKey, token, body: {} })).status).toBe(200);
    const visitor = await browser.newPage();
    await visitor.goto(`${appUrl}/content/page/welcome`);
    await expectText(visitor.getByRole('heading', { level: 1 }), 'Welcome aboard');
    await expectText(visitor.getByText('Hello from the platform.'), 'Hello from the platform.');
    expect((await visitor.goto(`${appUrl}/content/page/no-such-page`))?.status()).toBe(404);
    await visitor.close();
  });

  it('when the owner invites a colleague, then the invitation link lets them choose a password and sign in', async () => {
    const colleague = `grace-${randomBytes(3).toString('hex')}@app.example`;
    const invited = await call(gateway, 'POST', '/api/v1/auth/users', {
      key: tenantKey,
      token: await userToken(),
      body: { email: colleague, name: 'Grace Hopper' },
    });
    expect(invited.status).toBe(201);
    const visitorContext = await browser.newContext();
    const visitor = await visitorContext.newPage();
    await visitor.goto(`${appUrl}/invitations/accept?token=${encodeURIComponent(invited.body.invitationToken)}`);
    await visitor.getByLabel(/Choose a password/).fill(PASSWORD);
    await visitor.getByRole('button', { name: 'Accept and continue' }).click();
    await visitor.waitForURL(/\/sign-in/);
    await visitor.getByLabel('Email').fill(colleague);
    await visitor.getByLabel('Password').fill(PASSWORD);
    await visitor.getByRole('button', { name: 'Sign in' }).click();
    await visitor.waitForURL(`${appUrl}/clients`);
    await expectText(visitor.getByTestId('signed-in-as'), colleague);
    await visitorContext.close();
  });

  it('when the platform refuses the access token in the session, then the app refreshes it on the server, rotates the cookie and the user stays signed in', async () => {
    const cookie = (await context.cookies()).find((each) => each.name === 'next-auth.session-token')!;
    const token = (await decode({ token: cookie.value, secret: sessionSecret }))!;
    const spent = token.refreshToken;
    await context.addCookies([{ ...cookie, value: await encode({ token: { ...token, accessToken: 'not.a.valid-token' }, secret: sessionSecret }) }]);
    await page.goto(`${appUrl}/profile`);
    await expectText(page.locator('dd').nth(1), user.email);
    const rotated = (await decode({ token: (await context.cookies()).find((each) => each.name === 'next-auth.session-token')!.value, secret: sessionSecret }))!;
    expect(rotated.accessToken).not.toBe('not.a.valid-token');
    expect(rotated.refreshToken).not.toBe(spent);
    expect(rotated.email).toBe(user.email);
  });

  it('when the page is loaded cold, then its load time and JavaScript are recorded', async () => {
    const loads: Array<Awaited<ReturnType<typeof loadTiming>>> = [];
    for (let run = 0; run < 3; run++) {
      const cold = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await cold.addCookies(await context.cookies());
      const coldPage = await cold.newPage();
      await coldPage.goto(`${appUrl}/clients`, { waitUntil: 'load' });
      loads.push(await loadTiming(coldPage));
      await cold.close();
    }
    const median = [...loads].sort((a, b) => a.loadMs - b.loadMs)[1]!;
    measurements.clientsColdLoad = { median, loads, node: process.versions.node, at: new Date().toISOString() };
    process.stdout.write(`template /clients cold load (median of 3): ${JSON.stringify(median)}\n`);
    expect(median.loadMs).toBeGreaterThan(0);
  });

  it('when the user signs out, then the app and its proxy to the platform are closed to them', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in/);
    expect((await context.cookies()).some((cookie) => cookie.name === 'next-auth.session-token')).toBe(false);
    await page.goto(`${appUrl}/deals`);
    await page.waitForURL(/\/sign-in\?callbackUrl=%2Fdeals$/);
    const me = await page.evaluate(async () => (await fetch('/api/cdx/api/v1/auth/me')).status);
    expect(me).toBe(401);
  });

  it('when the user signs in again, then a wrong password is refused in words, and the right one returns them to the page they asked for', async () => {
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectText(page.getByRole('alert'), /email or password is not right/);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${appUrl}/deals`);
    await expectText(page.getByTestId('signed-in-as'), user.email);
  });
});
