import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runTypeScript } from './support/processes';

/** `npm run create-app`: the template copied into a directory of the user's, standing on its own. */
describe('npm run create-app', () => {
  jest.setTimeout(120_000);
  let parent: string;

  beforeAll(async () => {
    parent = await mkdtemp(path.join(tmpdir(), 'create-app-'));
  });
  afterAll(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  const createApp = async (args: string[], env: Record<string, string> = {}) => {
    const run = runTypeScript('scripts/create-app.ts', { INIT_CWD: parent, ...env }, args);
    const { code } = await run.exited;
    return { code, output: run.output() };
  };

  it("when given a directory and a tenant's key, then it writes the app with .env.local filled in and the SDK packed beside it", async () => {
    const result = await createApp(['my-app', '--api-key', 'cmk_example_key', '--api-url', 'https://api.example.com/']);
    expect(result).toMatchObject({ code: 0 });
    const dir = path.join(parent, 'my-app');
    const env = await readFile(path.join(dir, '.env.local'), 'utf8');
    expect(env).toMatch(/^CDX_API_URL=https:\/\/api\.example\.com$/m);
    expect(env).toMatch(/^CDX_API_KEY=cmk_example_key$/m);
    expect(env).toMatch(/^NEXTAUTH_SECRET=[A-Za-z0-9+/]{43}=$/m);
    expect(env).toMatch(/^NEXTAUTH_URL=http:\/\/localhost:3200$/m);
    const manifest = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
    expect(manifest.name).toBe('my-app');
    expect(manifest.dependencies['@codex-metatron/sdk']).toBe('file:vendor/codex-metatron-sdk-0.1.0.tgz');
    expect(existsSync(path.join(dir, 'vendor', 'codex-metatron-sdk-0.1.0.tgz'))).toBe(true);
    expect(existsSync(path.join(dir, 'src', 'app', 'deals', 'page.tsx'))).toBe(true);
    // The template's own tests and build output stay behind; the secret file is kept out of git.
    expect(existsSync(path.join(dir, 'test'))).toBe(false);
    expect(existsSync(path.join(dir, '.next'))).toBe(false);
    expect(await readFile(path.join(dir, '.gitignore'), 'utf8')).toContain('.env.local');
  });

  it('when the directory is not empty, or no key is given, then nothing is written and it says why', async () => {
    const taken = path.join(parent, 'taken');
    await mkdir(taken);
    await writeFile(path.join(taken, 'keep.txt'), 'mine');
    const refused = await createApp(['taken', '--api-key', 'cmk_example_key']);
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/not empty/);
    const keyless = await createApp(['keyless']);
    expect(keyless.code).toBe(2);
    expect(keyless.output).toMatch(/Usage: npm run create-app/);
    expect(existsSync(path.join(parent, 'keyless'))).toBe(false);
  });
});
