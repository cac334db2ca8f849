import {
  AccountEmail,
  ADMIN_PASSWORD_TOKEN,
  adminOf,
  ApiRouter,
  idempotent,
  createRateLimit,
  sharedCounters,
  ipKeyGenerator,
  MFA_CHALLENGE_TOKEN,
  tenantOf,
  tenantUserOf,
  TENANT_ROLES,
  type Identity,
  type OpenApiRegistry,
  type ServiceDeps,
} from '@codex/shared';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import {
  activateEnrolment,
  beginEnrolment,
  completeSignInWithSecondFactor,
  disableOwnMfa,
  enrolDuringSignIn,
  mfaStatus,
  renewRecoveryCodes,
} from '../domain/admin-mfa';
import { adminRealm, changePassword, login, logout, me, refresh, register, setAdminPassword, tenantRealm, type AuthDeps } from '../domain/accounts';
import { Password } from '../domain/passwords';
import { RefreshToken } from '../domain/sessions';
import { acceptUserInvitation, changeUser, getTenantUser, inviteUser, listTenantUsers, removeUser } from '../domain/users';

/** Login does not re-check password rules (they may have changed), only that it is a plausible string. */
const LoginPassword = z.string().min(1).max(1_024);
const Credentials = z.strictObject({ email: AccountEmail, password: LoginPassword });
const Registration = z.strictObject({ email: AccountEmail, password: Password, name: z.string().trim().max(200).default('') });
const RefreshBody = z.strictObject({ refreshToken: RefreshToken });
const PasswordChange = z.strictObject({ currentPassword: LoginPassword, newPassword: Password });

const Tokens = z
  .object({ tokenType: z.literal('Bearer'), accessToken: z.string(), expiresIn: z.number().int().describe('Seconds'), refreshToken: z.string() })
  .meta({ id: 'Tokens' });
const Account = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    role: z.string(),
    status: z.enum(['active', 'invited', 'disabled']),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Account' });
const SignedIn = z.object({ ...Tokens.shape, user: Account }).meta({ id: 'SignedIn' });
const Me = z.object({ ...Account.shape, roles: z.array(z.string()), permissions: z.array(z.string()) }).meta({ id: 'Me' });
const AccountPage = z.object({ items: z.array(Account), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });
const TotpCode = z.string().regex(/^\d{6}$/, 'must be the 6-digit code from the authenticator app');
const RecoveryCode = z.string().regex(/^[A-Za-z2-7]{4}(-?[A-Za-z2-7]{4}){3}$/, 'is not a recovery code');
const ChallengeToken = z.string().regex(MFA_CHALLENGE_TOKEN, 'is not a sign-in challenge token');
const SecondFactor = z.union([
  z.strictObject({ challengeToken: ChallengeToken, code: TotpCode }),
  z.strictObject({ challengeToken: ChallengeToken, recoveryCode: RecoveryCode }),
]);
const RecoveryCodes = z
  .object({ recoveryCodes: z.array(z.string()).describe('Shown once; each signs in once in place of a code') })
  .meta({ id: 'RecoveryCodes' });
const Enrolment = z
  .object({
    secret: z.string().describe('Base32, for typing into an authenticator app'),
    otpauthUri: z.string().describe('otpauth:// URI, for a QR code'),
  })
  .meta({ id: 'MfaEnrolment' });
const MfaStatus = z
  .object({
    enabled: z.boolean(),
    enabledAt: z.iso.datetime().nullable(),
    enrolling: z.boolean().describe('An enrolment was started and waits for its first code'),
    recoveryCodesLeft: z.number().int(),
    requiredByPlatform: z.boolean(),
  })
  .meta({ id: 'MfaStatus' });
const Invited = z.object({ user: Account, invitationToken: z.string(), expiresInSeconds: z.number().int() });

/** Attempts per client address within the login window, under `name`. */
function ipThrottle(deps: ServiceDeps<'auth'>, name: string): RequestHandler {
  const { loginIpAttempts, loginWindowMs } = deps.config.auth;
  return createRateLimit({ name, windowMs: loginWindowMs, limit: loginIpAttempts, redis: sharedCounters(deps) });
}

/** Per-IP and per-account login throttles; only failed attempts count against the account. */
function loginThrottles(deps: ServiceDeps<'auth'>, realm: 'tenant' | 'admin'): RequestHandler[] {
  const { loginAccountAttempts, loginWindowMs } = deps.config.auth;
  return [
    ipThrottle(deps, `login-ip-${realm}`),
    createRateLimit({
      name: `login-account-${realm}`,
      windowMs: loginWindowMs,
      limit: loginAccountAttempts,
      onlyFailures: true,
      redis: sharedCounters(deps),
      key: (req) =>
        `${req.identity?.tenantId ?? 'platform'}:${String((req.body as { email?: unknown })?.email ?? '')
          .trim()
          .toLowerCase()}`,
    }),
  ];
}

/** `/api/v1/auth/...`: tenant users' and platform admins' sign-in, tokens and accounts. */
export function authRoutes(deps: ServiceDeps<'auth'>, authDeps: AuthDeps, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/api/v1/auth');
  const tenant = (req: { identity?: Identity }) => tenantRealm(deps.tenants, deps.entitlements, tenantOf(req));
  const admins = adminRealm(deps.db);

  api.post(
    '/register',
    {
      operationId: 'register',
      summary: 'Sign a user up (open sign-up tenants)',
      tags: ['users'],
      body: Registration,
      responses: { 201: { description: 'Signed up and in', schema: SignedIn } },
      errors: [409, 422],
      access: 'apiKey',
    },
    createRateLimit({
      name: 'register-ip',
      windowMs: deps.config.auth.loginWindowMs,
      limit: deps.config.auth.loginIpAttempts,
      redis: sharedCounters(deps),
      key: (req) => `${req.identity?.tenantId}:${ipKeyGenerator(req.ip ?? '')}`,
    }),
    idempotent({ db: deps.db, secrets: deps.secrets, logger: deps.logger }),
    async (req, res) => {
      res.status(201).json(await register(authDeps, tenant(req), req.body));
    },
  );
  api.post(
    '/login',
    {
      operationId: 'login',
      summary: 'Log a user in',
      tags: ['users'],
      body: Credentials,
      responses: { 200: { description: 'Signed in', schema: SignedIn } },
      access: 'apiKey',
    },
    ...loginThrottles(deps, 'tenant'),
    async (req, res) => {
      res.json(await login(authDeps, tenant(req), req.body));
    },
  );
  api.post(
    '/refresh',
    {
      operationId: 'refresh',
      summary: 'Exchange a refresh token for a new pair (the old one is spent)',
      tags: ['users'],
      body: RefreshBody,
      responses: { 200: { description: 'New tokens', schema: Tokens } },
      access: 'apiKey',
    },
    async (req, res) => {
      res.json(await refresh(authDeps, tenant(req), req.body.refreshToken));
    },
  );
  api.post(
    '/logout',
    {
      operationId: 'logout',
      summary: 'End the session the refresh token belongs to',
      tags: ['users'],
      body: RefreshBody,
      responses: { 204: { description: 'Logged out' } },
      access: 'apiKey',
    },
    async (req, res) => {
      await logout(tenant(req), req.body.refreshToken);
      res.status(204).end();
    },
  );
  api.get(
    '/me',
    {
      operationId: 'getMe',
      summary: 'The calling user, roles and permissions',
      tags: ['users'],
      responses: { 200: { description: 'The user', schema: Me } },
      access: 'user',
    },
    async (req, res) => {
      const { tenantId, userId } = tenantUserOf(req);
      res.json(await me(tenantRealm(deps.tenants, deps.entitlements, tenantId), userId));
    },
  );
  api.post(
    '/password',
    {
      operationId: 'changePassword',
      summary: 'Change the calling user’s password (ends every session)',
      tags: ['users'],
      body: PasswordChange,
      responses: { 204: { description: 'Changed' } },
      access: 'user',
    },
    async (req, res) => {
      const { tenantId, userId } = tenantUserOf(req);
      await changePassword(authDeps, tenantRealm(deps.tenants, deps.entitlements, tenantId), userId, req.body);
      res.status(204).end();
    },
  );

  const UserId = z.object({ id: z.uuid() });
  const Role = z.enum(TENANT_ROLES);
  const actor = (req: { identity?: Identity }) => ({ userId: tenantUserOf(req).userId, role: req.identity!.roles[0] ?? 'viewer' });
  const users = (req: { identity?: Identity }) => tenantRealm(deps.tenants, deps.entitlements, tenantUserOf(req).tenantId);

  api.get(
    '/users',
    {
      operationId: 'listUsers',
      summary: "The tenant's users (owners and admins)",
      tags: ['users'],
      query: z.object({
        status: z.enum(['active', 'invited', 'disabled']).optional(),
        role: Role.optional(),
        limit: z.coerce.number().int().min(1).max(100).default(50),
        offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
      }),
      responses: { 200: { description: 'A page of users', schema: AccountPage } },
      access: 'user',
      permission: 'users:read',
    },
    async (req, res) => {
      res.json(await listTenantUsers(users(req), req.query));
    },
  );
  api.post(
    '/users',
    {
      operationId: 'inviteUser',
      summary: 'Invite a user; the invitation token is shown once',
      tags: ['users'],
      body: z.strictObject({ email: AccountEmail, name: z.string().trim().max(200).default(''), role: Role.default('member') }),
      responses: { 201: { description: 'Invited', schema: Invited } },
      errors: [409, 422],
      access: 'user',
      permission: 'users:manage',
    },
    idempotent({ db: deps.db, secrets: deps.secrets, logger: deps.logger }),
    async (req, res) => {
      const invited = await inviteUser(users(req), actor(req), req.body);
      res.status(201).location(`/api/v1/auth/users/${invited.user.id}`).json(invited);
    },
  );
  api.get(
    '/users/:id',
    {
      operationId: 'getUser',
      summary: 'One user',
      tags: ['users'],
      params: UserId,
      responses: { 200: { description: 'The user', schema: Account } },
      access: 'user',
      permission: 'users:read',
    },
    async (req, res) => {
      res.json(await getTenantUser(users(req), req.params.id));
    },
  );
  api.patch(
    '/users/:id',
    {
      operationId: 'updateUser',
      summary: 'Rename, change the role of, disable or re-enable a user',
      tags: ['users'],
      params: UserId,
      body: z
        .strictObject({ name: z.string().trim().max(200).optional(), role: Role.optional(), status: z.enum(['active', 'disabled']).optional() })
        .refine((body) => Object.keys(body).length > 0, 'nothing to change'),
      responses: { 200: { description: 'The user', schema: Account } },
      errors: [409],
      access: 'user',
      permission: 'users:manage',
    },
    async (req, res) => {
      res.json(await changeUser(users(req), actor(req), req.params.id, req.body));
    },
  );
  api.delete(
    '/users/:id',
    {
      operationId: 'deleteUser',
      summary: 'Delete a user',
      tags: ['users'],
      params: UserId,
      responses: { 204: { description: 'Deleted' } },
      errors: [409],
      access: 'user',
      permission: 'users:manage',
    },
    async (req, res) => {
      await removeUser(users(req), actor(req), req.params.id);
      res.status(204).end();
    },
  );
  api.post(
    '/invitations/accept',
    {
      operationId: 'acceptInvitation',
      summary: 'Accept an invitation: set a password and sign in',
      tags: ['users'],
      body: z.strictObject({ token: z.string().regex(/^inv_[A-Za-z0-9_-]{43}$/, 'is not an invitation token'), password: Password }),
      responses: { 200: { description: 'Signed in', schema: SignedIn } },
      access: 'apiKey',
    },
    async (req, res) => {
      res.json(await acceptUserInvitation(authDeps, tenant(req), req.body));
    },
  );

  api.post(
    '/admin/login',
    {
      operationId: 'adminLogin',
      summary:
        'Log a platform admin in. With a second factor (or on a platform that requires one) the answer is 401 MFA_REQUIRED (or MFA_ENROLMENT_REQUIRED) with a challenge token in `details`, for POST …/admin/login/mfa',
      tags: ['admins'],
      body: Credentials,
      responses: { 200: { description: 'Signed in', schema: SignedIn } },
      errors: [401],
      access: 'public',
    },
    ...loginThrottles(deps, 'admin'),
    async (req, res) => {
      res.json(await login(authDeps, admins, req.body));
    },
  );
  api.post(
    '/admin/login/mfa',
    {
      operationId: 'adminLoginSecondFactor',
      summary:
        'Finish an admin sign-in with a TOTP code or a recovery code; after an enrolment challenge, the first code turns MFA on and the recovery codes come back once. Five wrong codes lock the challenge',
      tags: ['admins'],
      body: SecondFactor,
      responses: {
        200: { description: 'Signed in', schema: z.object({ ...SignedIn.shape, recoveryCodes: RecoveryCodes.shape.recoveryCodes.optional() }) },
      },
      errors: [401, 409],
      access: 'public',
    },
    ipThrottle(deps, 'admin-mfa-ip'),
    async (req, res) => {
      res.json(await completeSignInWithSecondFactor(authDeps, req.body));
    },
  );
  api.post(
    '/admin/login/mfa/enrol',
    {
      operationId: 'adminLoginEnrolSecondFactor',
      summary: 'During a sign-in the platform requires MFA for: a new authenticator secret (then POST …/admin/login/mfa with its first code)',
      tags: ['admins'],
      body: z.strictObject({ challengeToken: ChallengeToken }),
      responses: { 200: { description: 'The secret to enrol', schema: Enrolment } },
      errors: [401, 409],
      access: 'public',
    },
    ipThrottle(deps, 'admin-mfa-ip'),
    async (req, res) => {
      res.json(await enrolDuringSignIn(authDeps, req.body.challengeToken));
    },
  );
  api.get(
    '/admin/mfa',
    {
      operationId: 'getAdminMfa',
      summary: "The calling admin's second factor",
      tags: ['admins'],
      responses: { 200: { description: 'MFA status', schema: MfaStatus } },
      access: 'admin',
    },
    async (req, res) => {
      res.json(await mfaStatus(authDeps, adminOf(req)));
    },
  );
  api.post(
    '/admin/mfa/enrol',
    {
      operationId: 'enrolAdminMfa',
      summary: 'Start enrolling an authenticator app (then POST …/admin/mfa/activate with its first code)',
      tags: ['admins'],
      responses: { 200: { description: 'The secret to enrol', schema: Enrolment } },
      errors: [409],
      access: 'admin',
    },
    async (req, res) => {
      res.json(await beginEnrolment(authDeps, adminOf(req)));
    },
  );
  api.post(
    '/admin/mfa/activate',
    {
      operationId: 'activateAdminMfa',
      summary: "Turn MFA on with the authenticator's first code; the ten recovery codes are shown once",
      tags: ['admins'],
      body: z.strictObject({ code: TotpCode }),
      responses: { 200: { description: 'MFA is on', schema: RecoveryCodes } },
      errors: [409],
      access: 'admin',
    },
    async (req, res) => {
      res.json(await activateEnrolment(authDeps, adminOf(req), req.body.code));
    },
  );
  api.post(
    '/admin/mfa/recovery-codes',
    {
      operationId: 'renewAdminRecoveryCodes',
      summary: 'Ten new recovery codes for a current code; the old ones stop working',
      tags: ['admins'],
      body: z.strictObject({ code: TotpCode }),
      responses: { 200: { description: 'New recovery codes', schema: RecoveryCodes } },
      errors: [409],
      access: 'admin',
    },
    async (req, res) => {
      res.json(await renewRecoveryCodes(authDeps, adminOf(req), req.body.code));
    },
  );
  api.post(
    '/admin/mfa/disable',
    {
      operationId: 'disableAdminMfa',
      summary: 'Turn the calling admin’s MFA off (password and a current code); refused while the platform requires MFA',
      tags: ['admins'],
      body: z.strictObject({ password: LoginPassword, code: TotpCode }),
      responses: { 204: { description: 'MFA is off' } },
      errors: [409],
      access: 'admin',
    },
    async (req, res) => {
      await disableOwnMfa(authDeps, adminOf(req), req.body);
      res.status(204).end();
    },
  );
  api.post(
    '/admin/password',
    {
      operationId: 'setAdminPassword',
      summary: "Set an admin's password with the one-time token a super admin was given (new admin, or a reset); then sign in",
      tags: ['admins'],
      body: z.strictObject({ token: z.string().regex(ADMIN_PASSWORD_TOKEN, 'is not an admin password token'), password: Password }),
      responses: { 204: { description: 'Password set' } },
      errors: [400],
      access: 'public',
    },
    // Per address only: the body names no account (a per-account limiter would count every caller's
    // failures under one empty key), and the token is 256 random bits, so guessing gets nowhere.
    ipThrottle(deps, 'admin-password-ip'),
    async (req, res) => {
      await setAdminPassword(authDeps, req.body);
      res.status(204).end();
    },
  );
  api.post(
    '/admin/refresh',
    {
      operationId: 'adminRefresh',
      summary: 'Rotate an admin refresh token',
      tags: ['admins'],
      body: RefreshBody,
      responses: { 200: { description: 'New tokens', schema: Tokens } },
      access: 'public',
    },
    async (req, res) => {
      res.json(await refresh(authDeps, admins, req.body.refreshToken));
    },
  );
  api.post(
    '/admin/logout',
    {
      operationId: 'adminLogout',
      summary: 'End an admin session',
      tags: ['admins'],
      body: RefreshBody,
      responses: { 204: { description: 'Logged out' } },
      access: 'public',
    },
    async (req, res) => {
      await logout(admins, req.body.refreshToken);
      res.status(204).end();
    },
  );
  api.get(
    '/admin/me',
    {
      operationId: 'getAdminMe',
      summary: 'The calling admin',
      tags: ['admins'],
      responses: { 200: { description: 'The admin', schema: Me } },
      access: 'admin',
    },
    async (req, res) => {
      res.json(await me(admins, adminOf(req)));
    },
  );
  api.post(
    '/admin/keys/rotate',
    {
      operationId: 'rotateSigningKey',
      summary: 'Rotate the token signing key (old tokens stay valid until they expire)',
      tags: ['admins'],
      responses: { 201: { description: 'New key id', schema: z.object({ kid: z.string() }) } },
      access: 'admin',
      permission: 'system:manage',
    },
    async (_req, res) => {
      res.status(201).json({ kid: await authDeps.keys.rotate() });
    },
  );
  return api.router;
}
