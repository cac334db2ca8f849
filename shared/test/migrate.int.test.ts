import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate, MigrationError } from '../src';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';

async function folderWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'codex-migrations-'));
  for (const [name, sql] of Object.entries(files)) await writeFile(path.join(dir, name), sql);
  return dir;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('migrate', () => {
  let db: TestDatabase;
  const folders: string[] = [];

  beforeEach(async () => {
    db = await createTestDatabase('empty');
  });
  afterEach(async () => {
    await db.drop();
  });
  afterAll(async () => {
    await Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function folder(files: Record<string, string>) {
    const dir = await folderWith(files);
    folders.push(dir);
    return dir;
  }

  it('when files are pending, then they are applied in name order and recorded with checksums', async () => {
    const directory = await folder({
      '0002_add-rows.sql': `INSERT INTO things (label) VALUES ('second');`,
      '0001_create-things.sql': `CREATE TABLE things (id int GENERATED ALWAYS AS IDENTITY, label text);`,
    });
    const result = await migrate({ connectionString: db.url, directory });
    expect(result.applied).toEqual(['0001_create-things.sql', '0002_add-rows.sql']);
    const recorded = await query<{ name: string; checksum: string }>(db.url, 'SELECT name, checksum FROM schema_migrations ORDER BY name');
    expect(recorded.map((r) => r.name)).toEqual(['0001_create-things.sql', '0002_add-rows.sql']);
    expect(recorded[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('when run again, then nothing is applied twice', async () => {
    const directory = await folder({ '0001_create-things.sql': 'CREATE TABLE things (id int);' });
    await migrate({ connectionString: db.url, directory });
    const again = await migrate({ connectionString: db.url, directory });
    expect(again).toEqual({ applied: [], skipped: 1 });
  });

  it('when an applied file was changed, then the run stops with a clear error and applies nothing new', async () => {
    const directory = await folder({ '0001_create-things.sql': 'CREATE TABLE things (id int);' });
    await migrate({ connectionString: db.url, directory });
    await writeFile(path.join(directory, '0001_create-things.sql'), 'CREATE TABLE things (id bigint);');
    await writeFile(path.join(directory, '0002_more.sql'), 'CREATE TABLE more (id int);');
    await expect(migrate({ connectionString: db.url, directory })).rejects.toThrow(/0001_create-things\.sql was changed after it was applied/);
    const tables = await query(db.url, `SELECT 1 FROM information_schema.tables WHERE table_name = 'more'`);
    expect(tables).toHaveLength(0);
  });

  it('when a file fails, then its changes are rolled back and later files are not applied', async () => {
    const directory = await folder({
      '0001_good.sql': 'CREATE TABLE good (id int);',
      '0002_bad.sql': 'CREATE TABLE half (id int); SELECT no_such_function();',
      '0003_later.sql': 'CREATE TABLE later (id int);',
    });
    await expect(migrate({ connectionString: db.url, directory })).rejects.toThrow(MigrationError);
    const tables = await query<{ table_name: string }>(
      db.url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(['good', 'schema_migrations']);
  });

  it('when two runners start at the same moment, then both succeed and each file is applied once', async () => {
    const directory = await folder({
      '0001_create-counter.sql': 'CREATE TABLE counter (n int); SELECT pg_sleep(0.2);',
      '0002_count.sql': 'INSERT INTO counter VALUES (1);',
    });
    const [first, second] = await Promise.all([migrate({ connectionString: db.url, directory }), migrate({ connectionString: db.url, directory })]);
    expect([...first.applied, ...second.applied].sort()).toEqual(['0001_create-counter.sql', '0002_count.sql']);
    expect(await query(db.url, 'SELECT n FROM counter')).toHaveLength(1);
  });

  it('when a file name does not follow the pattern, then it is refused', async () => {
    const directory = await folder({ 'create things.sql': 'SELECT 1;' });
    await expect(migrate({ connectionString: db.url, directory })).rejects.toThrow(/0001_create-things\.sql/);
  });

  it('when an applied migration disappeared from the folder, then the run stops', async () => {
    const directory = await folder({ '0001_create-things.sql': 'CREATE TABLE things (id int);' });
    await migrate({ connectionString: db.url, directory });
    await rm(path.join(directory, '0001_create-things.sql'));
    await expect(migrate({ connectionString: db.url, directory })).rejects.toThrow(/missing from the folder/);
  });
});
