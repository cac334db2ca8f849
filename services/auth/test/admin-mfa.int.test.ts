import { randomBytes } from 'node:crypto';
import { ScureBase32Plugin } from '@otplib/plugin-base32-scure';
import { NodeCryptoPlugin } from '@otplib/plugin-crypto-node';
import { generate } from '@otplib/totp';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';

const PASSWORD = 'a long enough password';
const crypto = new NodeCryptoPlugin();
const base32 = new ScureBase32Plugin();

/** The code an authenticator app shows for `secret`, `stepsAhead` periods of 30 s from now. */
const codeFor = (secret: string, stepsAhead = 0) => generate({ secret, crypto, base32, epoch: Math.floor(Date.now() / 1000) + stepsAhead * 30 });

/**
 * Admin sign-in with a second factor, through the gateway as the console does (#14): enrolment with an
 * otpauth URI, TOTP codes that work once, single-use recovery codes, five wrong codes locking the
 * challenge, the platform setting that requires MFA of every admin, and a super admin resetting a lost device.
 */
describe('admin MFA (through the gateway)', () => {
  let platform: TestPlatform;
  let operator: string;

  const gateway = () => request(platform.gateway.url);
  const as = (token: string) => ({
    get: (path: string) => gateway().get(path).set('Authorization', `Bearer ${token}`),
    post: (path: string) => gateway().post(path).set('Authorization', `Bearer ${token}`),
    put: (path: string) => gateway().put(path).set('Authorization', `Bearer ${token}`),
    delete: (path: string) => gateway().delete(path).set('Authorization', `Bearer ${token}`),
  });
  const signIn = (email: string, password = PASSWORD) => gateway().post('/api/v1/auth/admin/login').send({ email, password });
  const secondFactor = (body: object) => gateway().post('/api/v1/auth/admin/login/mfa').send(body);

  /** An admin made by the operator who has set a password and signed in. */
  async function newAdmin(role = 'admin') {
    const email = `mfa-${randomBytes(4).toString('hex')}@platform.example`;
    const created = await as(operator).post('/api/v1/admin/admins').send({ email, role });
    expect((await gateway().post('/api/v1/auth/admin/password').send({ token: created.body.passwordToken, password: PASSWORD })).status).toBe(204);
    const session = await signIn(email);
    expect(session.status).toBe(200);
    return { id: created.body.admin.id as string, email, token: session.body.accessToken as string };
  }

  /** An admin with MFA on: their secret and recovery codes. */
  async function enrolledAdmin() {
    const admin = await newAdmin();
    const enrolment = await as(admin.token).post('/api/v1/auth/admin/mfa/enrol');
    expect(enrolment.status).toBe(200);
    const secret = enrolment.body.secret as string;
    const activated = await as(admin.token)
      .post('/api/v1/auth/admin/mfa/activate')
      .send({ code: await codeFor(secret) });
    expect(activated.status).toBe(200);
    return { ...admin, secret, recoveryCodes: activated.body.recoveryCodes as string[] };
  }

  async function challengeFor(email: string, expectedCode = 'MFA_REQUIRED') {
    const answer = await signIn(email);
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe(expectedCode);
    expect(answer.body).not.toHaveProperty('accessToken');
    return answer.body.error.details.challengeToken as string;
  }

  /** Saves platform settings and waits until the auth service has them (it reads the newest version each second). */
  async function configure(settings: object) {
    const saved = await as(operator).put('/api/v1/admin/config').send(settings);
    expect(saved.status).toBe(200);
    while ((await platform.deps.auth!.platformConfig.current()).version !== saved.body.version) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  async function auditActions(adminId: string) {
    const { rows } = await platform.deps.admin!.db.query(`SELECT action, details FROM audit_log WHERE target_type = 'admin' AND target_id = $1 ORDER BY seq`, [
      adminId,
    ]);
    return rows as { action: string; details: Record<string, unknown> | null }[];
  }

  beforeAll(async () => {
    platform = await startTestPlatform({ services: [] });
    operator = await platform.newOperatorToken();
  });
  afterAll(async () => {
    await platform.close();
  });

  it('when an admin enrols, then the app gets an otpauth URI, MFA turns on with the first code, and ten recovery codes are shown once', async () => {
    const admin = await newAdmin();
    expect((await as(admin.token).get('/api/v1/auth/admin/mfa')).body).toMatchObject({ enabled: false, enrolling: false, requiredByPlatform: false });
    const enrolment = await as(admin.token).post('/api/v1/auth/admin/mfa/enrol');
    expect(enrolment.body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrolment.body.otpauthUri).toBe(
      `otpauth://totp/Codex%20Metatron:${encodeURIComponent(admin.email)}?secret=${enrolment.body.secret}&issuer=Codex%20Metatron`,
    );
    // Until the first code proves the app has it, sign-in stays password-only.
    expect((await signIn(admin.email)).status).toBe(200);
    const wrong = await as(admin.token)
      .post('/api/v1/auth/admin/mfa/activate')
      .send({ code: '000000' === (await codeFor(enrolment.body.secret)) ? '111111' : '000000' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatchObject({ code: 'MFA_CODE_INVALID', details: [{ path: 'body.code', message: expect.any(String) }] });

    const activated = await as(admin.token)
      .post('/api/v1/auth/admin/mfa/activate')
      .send({ code: await codeFor(enrolment.body.secret) });
    expect(activated.status).toBe(200);
    expect(activated.body.recoveryCodes).toHaveLength(10);
    expect(new Set(activated.body.recoveryCodes).size).toBe(10);
    for (const code of activated.body.recoveryCodes) expect(code).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    expect((await as(admin.token).get('/api/v1/auth/admin/mfa')).body).toMatchObject({ enabled: true, recoveryCodesLeft: 10 });
    expect((await as(operator).get(`/api/v1/admin/admins/${admin.id}`)).body.mfaEnrolled).toBe(true);
    expect((await as(admin.token).post('/api/v1/auth/admin/mfa/enrol')).body.error.code).toBe('MFA_ALREADY_ENABLED');

    // Nothing stored in the clear: the secret is sealed, the codes hashed.
    const { rows } = await platform.deps.admin!.db.query('SELECT mfa_secret FROM admins WHERE id = $1', [admin.id]);
    expect(rows[0].mfa_secret).not.toContain(enrolment.body.secret);
    const stored = await platform.deps.admin!.db.query('SELECT code_hash FROM admin_recovery_codes WHERE admin_id = $1', [admin.id]);
    expect(JSON.stringify(stored.rows)).not.toContain(activated.body.recoveryCodes[0].replace(/-/g, ''));
  });

  it('when an admin with MFA signs in, then the password alone gives a challenge, a code completes it once, and the same code never works twice', async () => {
    const admin = await enrolledAdmin();
    const challenge = await challengeFor(admin.email);
    expect(challenge).toMatch(/^mfa_/);
    // The code that activated MFA is spent: the next step's code signs in.
    const code = await codeFor(admin.secret, 1);
    const signedIn = await secondFactor({ challengeToken: challenge, code });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user.email).toBe(admin.email);
    expect((await as(signedIn.body.accessToken).get('/api/v1/auth/admin/me')).status).toBe(200);
    expect((await secondFactor({ challengeToken: challenge, code })).body.error.code).toBe('MFA_CHALLENGE_INVALID');

    const replayed = await secondFactor({ challengeToken: await challengeFor(admin.email), code });
    expect(replayed.status).toBe(401);
    expect(replayed.body.error.code).toBe('MFA_CODE_INVALID');
    expect(replayed.body.error.details).toEqual({ attemptsLeft: 4 });

    const actions = await auditActions(admin.id);
    expect(actions.filter((entry) => entry.action === 'admin.login').at(-1)!.details).toEqual({ secondFactor: 'totp' });
    expect(actions.at(-1)).toMatchObject({ action: 'admin.mfa_failed', details: { method: 'totp', failedAttempts: 1 } });
  });

  it('when an admin has lost their device, then a recovery code signs them in once, typed in any case and with or without dashes', async () => {
    const admin = await enrolledAdmin();
    const [first, second] = admin.recoveryCodes;
    const signedIn = await secondFactor({ challengeToken: await challengeFor(admin.email), recoveryCode: first!.toUpperCase().replace(/-/g, '') });
    expect(signedIn.status).toBe(200);
    const spent = await secondFactor({ challengeToken: await challengeFor(admin.email), recoveryCode: first });
    expect(spent.status).toBe(401);
    expect(spent.body.error.code).toBe('MFA_CODE_INVALID');
    expect((await secondFactor({ challengeToken: await challengeFor(admin.email), recoveryCode: second })).status).toBe(200);
    expect((await as(signedIn.body.accessToken).get('/api/v1/auth/admin/mfa')).body.recoveryCodesLeft).toBe(8);

    const renewed = await as(signedIn.body.accessToken)
      .post('/api/v1/auth/admin/mfa/recovery-codes')
      .send({ code: await codeFor(admin.secret, 1) });
    expect(renewed.status).toBe(200);
    expect(renewed.body.recoveryCodes).toHaveLength(10);
    expect((await secondFactor({ challengeToken: await challengeFor(admin.email), recoveryCode: admin.recoveryCodes[2] })).status).toBe(401);
    expect((await auditActions(admin.id)).filter((entry) => entry.action === 'admin.login').at(-1)!.details).toEqual({ secondFactor: 'recovery_code' });
  });

  it('when five wrong codes are sent, then the challenge is locked: even the right code is refused until the admin signs in again', async () => {
    const admin = await enrolledAdmin();
    const challenge = await challengeFor(admin.email);
    const right = await codeFor(admin.secret, 1);
    const wrongCode = right === '123456' ? '654321' : '123456';
    const answers = [];
    for (let attempt = 0; attempt < 5; attempt++) answers.push(await secondFactor({ challengeToken: challenge, code: wrongCode }));
    expect(answers.map((answer) => answer.body.error.details.attemptsLeft)).toEqual([4, 3, 2, 1, 0]);
    expect(answers.at(-1)!.body.error.code).toBe('MFA_CHALLENGE_LOCKED');
    const locked = await secondFactor({ challengeToken: challenge, code: right });
    expect(locked.status).toBe(401);
    expect(locked.body.error.code).toBe('MFA_CHALLENGE_LOCKED');
    expect((await secondFactor({ challengeToken: await challengeFor(admin.email), code: right })).status).toBe(200);
  });

  it('when the input is not a code or not a challenge, then 400 naming the field, and an unknown challenge is 401', async () => {
    const malformed = await secondFactor({ challengeToken: 'mfa_short', code: '12345' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('VALIDATION_FAILED');
    expect((await secondFactor({ challengeToken: `mfa_${'A'.repeat(43)}`, code: '123456', recoveryCode: 'abcd-efgh-ijkl-mnop' })).status).toBe(400);
    const unknown = await secondFactor({ challengeToken: `mfa_${randomBytes(32).toString('base64url')}`, code: '123456' });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('MFA_CHALLENGE_INVALID');
    const enrolOutsideSignIn = await gateway()
      .post('/api/v1/auth/admin/login/mfa/enrol')
      .send({ challengeToken: `mfa_${randomBytes(32).toString('base64url')}` });
    expect(enrolOutsideSignIn.body.error.code).toBe('MFA_CHALLENGE_INVALID');
  });

  it('when a super admin resets a lost device, then the admin’s sessions end and they sign in with the password alone', async () => {
    const admin = await enrolledAdmin();
    const support = await newAdmin('support');
    expect((await as(support.token).delete(`/api/v1/admin/admins/${admin.id}/mfa`)).status).toBe(403);
    expect((await as(operator).delete(`/api/v1/admin/admins/${admin.id}/mfa`)).status).toBe(204);
    const started = Date.now();
    while ((await as(admin.token).get('/api/v1/auth/admin/me')).status !== 401) {
      expect(Date.now() - started).toBeLessThan(5_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000 - (Date.now() % 1_000) + 20));
    expect((await signIn(admin.email)).status).toBe(200);
    expect((await auditActions(admin.id)).map((entry) => entry.action)).toContain('admin.mfa_reset');
  });

  it('when an admin turns MFA off, then password and a current code are needed; and once the platform requires MFA, every admin without it enrols at sign-in', async () => {
    const admin = await enrolledAdmin();
    const wrongPassword = await as(admin.token)
      .post('/api/v1/auth/admin/mfa/disable')
      .send({ password: 'not my password', code: await codeFor(admin.secret, 1) });
    expect(wrongPassword.status).toBe(400);
    expect(
      (
        await as(admin.token)
          .post('/api/v1/auth/admin/mfa/disable')
          .send({ password: PASSWORD, code: await codeFor(admin.secret, 1) })
      ).status,
    ).toBe(204);
    expect((await signIn(admin.email)).status).toBe(200);

    await configure({ mfaRequired: true });

    const challenge = await challengeFor(admin.email, 'MFA_ENROLMENT_REQUIRED');
    const notYet = await secondFactor({ challengeToken: challenge, code: '123456' });
    expect(notYet.status).toBe(409);
    expect(notYet.body.error.code).toBe('MFA_NOT_ENROLLING');
    const enrolment = await gateway().post('/api/v1/auth/admin/login/mfa/enrol').send({ challengeToken: challenge });
    expect(enrolment.status).toBe(200);
    const signedIn = await secondFactor({ challengeToken: challenge, code: await codeFor(enrolment.body.secret) });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.recoveryCodes).toHaveLength(10);
    const token = signedIn.body.accessToken as string;
    expect((await as(token).get('/api/v1/auth/admin/mfa')).body).toMatchObject({ enabled: true, requiredByPlatform: true });
    const refused = await as(token)
      .post('/api/v1/auth/admin/mfa/disable')
      .send({ password: PASSWORD, code: await codeFor(enrolment.body.secret, 1) });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('MFA_REQUIRED_BY_PLATFORM');
    // From now on the enrolled admin gets the ordinary challenge.
    expect(await challengeFor(admin.email)).toMatch(/^mfa_/);
    await configure({ mfaRequired: false });
  });

  it('when the session lengths change, then the next sign-in gets tokens of the new lengths', async () => {
    const admin = await newAdmin();
    await configure({ sessions: { accessTokenMinutes: 5, userRefreshDays: 7, adminRefreshHours: 8 } });
    const session = await signIn(admin.email);
    expect(session.body.expiresIn).toBe(300);
    const claims = jwt.decode(session.body.accessToken) as { exp: number; iat: number };
    expect(claims.exp - claims.iat).toBe(300);
    const { rows } = await platform.deps.admin!.db.query(
      `SELECT extract(epoch FROM expires_at - created_at)::int AS seconds FROM admin_refresh_tokens WHERE admin_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [admin.id],
    );
    expect(Math.abs(rows[0].seconds - 8 * 3_600)).toBeLessThanOrEqual(2);
    const invalid = await as(operator)
      .put('/api/v1/admin/config')
      .send({ sessions: { accessTokenMinutes: 600, userRefreshDays: 7, adminRefreshHours: 8 } });
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(invalid.body.error.details)).toContain('sessions.accessTokenMinutes');
  });
});
