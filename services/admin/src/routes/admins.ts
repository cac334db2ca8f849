import { AccountEmail, ADMIN_ROLES, adminActor, adminOf, ApiRouter, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { adminById, adminList, changeAdmin, createAdmin, removeAdmin, resetAdminMfa, resetAdminPassword } from '../domain/admins';

const AdminIdParams = z.object({ id: z.uuid() });
const CreateAdmin = z.strictObject({ email: AccountEmail, name: z.string().trim().max(200).default(''), role: z.enum(ADMIN_ROLES) });
const UpdateAdmin = z
  .strictObject({
    name: z.string().trim().max(200).optional(),
    role: z.enum(ADMIN_ROLES).optional(),
    status: z.enum(['active', 'disabled']).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'nothing to change');

const AdminSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    role: z.enum(ADMIN_ROLES),
    status: z.enum(['active', 'disabled']),
    hasPassword: z.boolean().describe('False until the admin sets a password with their one-time token'),
    mfaEnrolled: z.boolean(),
    lastLoginAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Admin' });
const PasswordTokenFields = {
  passwordToken: z.string().describe('Shown once. The admin sets their password with it at POST /api/v1/auth/admin/password'),
  expiresAt: z.iso.datetime(),
};

/** `/api/v1/admin/admins…`: platform admins, managed by super admins; read by anyone with admins:read. */
export function adminRoutes(deps: ServiceDeps<'admin'>, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/api/v1/admin');
  const reads = { access: 'admin', permission: 'admins:read' } as const;
  const manages = { access: 'admin', permission: 'admins:manage' } as const;

  api.get(
    '/admins',
    {
      operationId: 'listAdmins',
      summary: 'Every platform admin, oldest first',
      tags: ['admins'],
      responses: { 200: { description: 'Admins', schema: z.object({ items: z.array(AdminSchema) }) } },
      ...reads,
    },
    async (_req, res) => {
      res.json({ items: await adminList(deps.db) });
    },
  );

  api.get(
    '/admins/:id',
    {
      operationId: 'getAdmin',
      summary: 'One platform admin',
      tags: ['admins'],
      params: AdminIdParams,
      responses: { 200: { description: 'The admin', schema: AdminSchema } },
      errors: [404],
      ...reads,
    },
    async (req, res) => {
      res.json(await adminById(deps.db, req.params.id));
    },
  );

  api.post(
    '/admins',
    {
      operationId: 'createAdmin',
      summary: 'Add an admin: no password yet, and a one-time token (shown once, 24 h) to set one with',
      tags: ['admins'],
      body: CreateAdmin,
      responses: { 201: { description: 'Created', schema: z.object({ admin: AdminSchema, ...PasswordTokenFields }) } },
      errors: [409],
      ...manages,
    },
    async (req, res) => {
      const created = await createAdmin(deps.db, req.body, adminActor(adminOf(req)));
      res.status(201).location(`/api/v1/admin/admins/${created.admin.id}`).json(created);
    },
  );

  api.patch(
    '/admins/:id',
    {
      operationId: 'updateAdmin',
      summary: "Rename, change the role of, disable or re-enable an admin (a new role or disabling ends the admin's sessions at once)",
      tags: ['admins'],
      params: AdminIdParams,
      body: UpdateAdmin,
      responses: { 200: { description: 'The admin', schema: AdminSchema } },
      errors: [404, 409],
      ...manages,
    },
    async (req, res) => {
      res.json(await changeAdmin(deps.db, req.params.id, req.body, adminActor(adminOf(req))));
    },
  );

  api.delete(
    '/admins/:id',
    {
      operationId: 'deleteAdmin',
      summary: 'Remove an admin; the last active super admin cannot be removed (409)',
      tags: ['admins'],
      params: AdminIdParams,
      responses: { 204: { description: 'Removed' } },
      errors: [404, 409],
      ...manages,
    },
    async (req, res) => {
      await removeAdmin(deps.db, req.params.id, adminActor(adminOf(req)));
      res.status(204).end();
    },
  );

  api.post(
    '/admins/:id/password-reset',
    {
      operationId: 'resetAdminPassword',
      summary: "Forget an admin's password and end their sessions; answers a one-time token (shown once) to set a new one",
      tags: ['admins'],
      params: AdminIdParams,
      responses: { 201: { description: 'Reset', schema: z.object(PasswordTokenFields) } },
      errors: [404],
      ...manages,
    },
    async (req, res) => {
      res.status(201).json(await resetAdminPassword(deps.db, req.params.id, adminActor(adminOf(req))));
    },
  );

  api.delete(
    '/admins/:id/mfa',
    {
      operationId: 'resetAdminMfa',
      summary: "Remove an admin's second factor (a lost device) and end their sessions; they sign in with their password and enrol again",
      tags: ['admins'],
      params: AdminIdParams,
      responses: { 204: { description: 'Removed' } },
      errors: [404],
      ...manages,
    },
    async (req, res) => {
      await resetAdminMfa(deps.db, req.params.id, adminActor(adminOf(req)));
      res.status(204).end();
    },
  );

  return api.router;
}
