import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { MACHINE_PASSWORD_SCRAM_ITERATIONS, scramSecret } from '../src';
import { testServerUrl } from '../../test/support/database';

/** The SCRAM secret made for tenant roles is the one PostgreSQL itself makes, and PostgreSQL keeps it as given. */
describe('scramSecret', () => {
  let admin: pg.Client;
  const role = `scram_test_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: testServerUrl() });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  const storedSecret = async () =>
    (await admin.query<{ secret: string }>('SELECT rolpassword AS secret FROM pg_authid WHERE rolname = $1', [role])).rows[0]!.secret;

  it('when PostgreSQL hashes a password itself, then scramSecret with its salt and rounds makes the same secret', async () => {
    const password = randomBytes(32).toString('base64url');
    await admin.query(`SET password_encryption = 'scram-sha-256'`);
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD ${admin.escapeLiteral(password)}`);
    const theirs = await storedSecret();
    const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(theirs)!;
    expect(scramSecret(password, Number(iterations), Buffer.from(salt!, 'base64'))).toBe(theirs);
    // And a wrong password does not make it.
    expect(scramSecret(`${password}x`, Number(iterations), Buffer.from(salt!, 'base64'))).not.toBe(theirs);
  });

  it('when a role is given the secret as its password, then PostgreSQL stores it unchanged, with our rounds', async () => {
    const secret = scramSecret(randomBytes(32).toString('base64url'));
    await admin.query(`ALTER ROLE ${role} PASSWORD ${admin.escapeLiteral(secret)}`);
    expect(await storedSecret()).toBe(secret);
    expect(secret.startsWith(`SCRAM-SHA-256$${MACHINE_PASSWORD_SCRAM_ITERATIONS}:`)).toBe(true);
  });

  it('when the password is not printable ASCII, then it is refused (SASLprep would change it)', () => {
    expect(() => scramSecret('pässword')).toThrow();
    expect(() => scramSecret('')).toThrow();
  });
});
