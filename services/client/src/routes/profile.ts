import { ApiRouter, tenantUserOf, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { changeOwnProfile, ownProfile } from '../domain/profiles';
import { ProfileSchema } from './client-schemas';

const TIME_ZONES = new Set(Intl.supportedValuesOf('timeZone'));

const ProfileChanges = z
  .strictObject({
    displayName: z.string().trim().max(200).nullable().optional(),
    avatarUrl: z
      .url({ protocol: /^https$/, error: 'must be an https:// URL' })
      .max(2048)
      .nullable()
      .optional(),
    locale: z
      .string()
      .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$/, 'must be a BCP 47 tag such as en or pt-BR')
      .nullable()
      .optional(),
    timezone: z
      .string()
      .refine((zone) => TIME_ZONES.has(zone), 'must be an IANA time zone such as Europe/Berlin')
      .nullable()
      .optional(),
    preferences: z
      .record(z.string().max(64), z.unknown())
      .refine((value) => Buffer.byteLength(JSON.stringify(value)) <= 8_192, 'preferences are limited to 8 KB')
      .optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'nothing to change');

/** `/api/v1/client/profile`: the calling user's own profile. Every signed-in user may read and change their own. */
export function profileRoutes(deps: ServiceDeps<'client'>, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/api/v1/client');
  api.get(
    '/profile',
    {
      operationId: 'getProfile',
      summary: "The calling user's profile",
      tags: ['profile'],
      responses: { 200: { description: 'The profile', schema: ProfileSchema } },
      access: 'user',
    },
    async (req, res) => {
      res.json(await ownProfile(deps.tenants, tenantUserOf(req)));
    },
  );
  api.patch(
    '/profile',
    {
      operationId: 'updateProfile',
      summary: "Change the calling user's profile (preferences merge)",
      tags: ['profile'],
      body: ProfileChanges,
      responses: { 200: { description: 'The profile', schema: ProfileSchema } },
      access: 'user',
    },
    async (req, res) => {
      res.json(await changeOwnProfile(deps.tenants, tenantUserOf(req), req.body));
    },
  );
  return api.router;
}
