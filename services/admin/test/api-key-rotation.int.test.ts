import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from '../../../test/support/platform';

/**
 * Rotating a tenant's API key with an overlap (#14), through the gateway as an operator and a tenant app
 * would: the new key works at once, the old one until its overlap ends and not a request longer, even
 * though the gateway caches keys.
 */
describe('API key rotation with overlap (through the gateway)', () => {
  let platform: TestPlatform;
  let operator: string;
  let tenant: PlatformTenant;
  let other: PlatformTenant;

  const admin = () => request(platform.gateway.url);
  const keysOf = async (tenantId: string) =>
    (await admin().get(`/api/v1/admin/tenants/${tenantId}/api-keys`).set('Authorization', `Bearer ${operator}`)).body.items as Array<Record<string, unknown>>;
  const rotate = (tenantId: string, keyId: string, body: object = {}) =>
    admin().post(`/api/v1/admin/tenants/${tenantId}/api-keys/${keyId}/rotate`).set('Authorization', `Bearer ${operator}`).send(body);
  const me = (key: string, owner: PlatformTenant = tenant) =>
    request(platform.gateway.url).get('/api/v1/auth/me').set('X-API-Key', key).set('Authorization', `Bearer ${owner.token}`);

  beforeAll(async () => {
    platform = await startTestPlatform({ services: [] });
    operator = await platform.newOperatorToken();
    tenant = await platform.newTenant();
    other = await platform.newTenant();
  });
  afterAll(async () => {
    await platform.close();
  });

  it('when a key is rotated with an overlap, then both work until it ends, then only the new one, and the listing shows who and when', async () => {
    const [original] = await keysOf(tenant.id);
    expect((await me(tenant.key)).status).toBe(200); // the old key is now in the gateway's cache
    const rotated = await rotate(tenant.id, original!.id as string, { overlapSeconds: 2 });
    expect(rotated.status).toBe(201);
    expect(rotated.body.key.key).toMatch(/^cmk_/);
    expect(rotated.body.previous).toMatchObject({ id: original!.id, replacedBy: rotated.body.key.id, revokedAt: null });
    const ends = Date.parse(rotated.body.previous.expiresAt);
    expect(ends - Date.now()).toBeGreaterThan(0);
    expect(ends - Date.now()).toBeLessThanOrEqual(2_000);

    expect((await me(rotated.body.key.key)).status).toBe(200);
    expect((await me(tenant.key)).status).toBe(200);
    const listed = await keysOf(tenant.id);
    expect(listed.find((key) => key.id === rotated.body.key.id)).toMatchObject({
      prefix: rotated.body.key.prefix,
      createdBy: expect.any(String),
      expiresAt: null,
    });
    expect(listed.find((key) => key.id === original!.id)).toMatchObject({ replacedBy: rotated.body.key.id });
    expect(JSON.stringify(listed)).not.toContain(rotated.body.key.key);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, ends - Date.now()) + 50));
    const late = await me(tenant.key);
    expect(late.status).toBe(401);
    expect(late.body.error.code).toBe('INVALID_API_KEY');
    expect((await me(rotated.body.key.key)).status).toBe(200);

    const { rows } = await platform.deps.admin!.db.query(
      `SELECT action, actor_type, target_id, details FROM audit_log WHERE action = 'api_key.rotated' AND tenant_id = $1`,
      [tenant.id],
    );
    expect(rows).toEqual([
      expect.objectContaining({
        actor_type: 'admin',
        target_id: original!.id,
        details: expect.objectContaining({ after: expect.objectContaining({ replacedBy: rotated.body.key.id }) }),
      }),
    ]);
    tenant = { ...tenant, key: rotated.body.key.key };
  });

  it('when no overlap is given, then the old key keeps working for 24 hours', async () => {
    const [current] = await keysOf(tenant.id);
    const rotated = await rotate(tenant.id, current!.id as string);
    expect(rotated.status).toBe(201);
    expect(Date.parse(rotated.body.previous.expiresAt) - Date.now()).toBeGreaterThan(86_400_000 - 60_000);
    expect((await me(tenant.key)).status).toBe(200);
    tenant = { ...tenant, key: rotated.body.key.key };
  });

  it('when a rotated, revoked or unknown key is rotated, or the body is bad, then 409, 404 or 400 and no key is made', async () => {
    const before = (await keysOf(tenant.id)).length;
    const rotatedAlready = (await keysOf(tenant.id)).find((key) => key.replacedBy);
    const again = await rotate(tenant.id, rotatedAlready!.id as string);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('API_KEY_INACTIVE');

    const issued = await admin().post(`/api/v1/admin/tenants/${tenant.id}/api-keys`).set('Authorization', `Bearer ${operator}`).send({ name: 'spare' });
    await admin().delete(`/api/v1/admin/tenants/${tenant.id}/api-keys/${issued.body.id}`).set('Authorization', `Bearer ${operator}`);
    expect((await rotate(tenant.id, issued.body.id)).status).toBe(409);
    expect((await rotate(tenant.id, randomUUID())).status).toBe(404);
    for (const body of [{ overlapSeconds: -1 }, { overlapSeconds: 31 * 86_400 }, { overlapSeconds: 1.5 }, { overlapSeconds: '60' }, { extra: true }]) {
      const res = await rotate(tenant.id, issued.body.id, body);
      expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status: 400, code: 'VALIDATION_FAILED' });
    }
    expect((await keysOf(tenant.id)).length).toBe(before + 1); // the spare, revoked; nothing from the refused rotations
  });

  it("when another tenant's path is used to rotate a key, then 404 and that key is untouched", async () => {
    const [theirs] = await keysOf(other.id);
    const res = await rotate(tenant.id, theirs!.id as string, { overlapSeconds: 0 });
    expect(res.status).toBe(404);
    expect((await keysOf(other.id)).find((key) => key.id === theirs!.id)).toMatchObject({ expiresAt: null, replacedBy: null });
    expect((await me(other.key, other)).status).toBe(200);
  });

  it('when a tenant user (not an operator) tries to rotate, then the gateway refuses', async () => {
    const [current] = await keysOf(tenant.id);
    const res = await request(platform.gateway.url)
      .post(`/api/v1/admin/tenants/${tenant.id}/api-keys/${current!.id}/rotate`)
      .set('X-API-Key', tenant.key)
      .set('Authorization', `Bearer ${tenant.token}`)
      .send({});
    expect(res.status).toBe(403);
  });
});
