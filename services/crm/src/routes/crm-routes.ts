import {
  ApiRouter,
  OffsetPage,
  idempotent,
  CalendarDate,
  Instant,
  expectedVersion,
  requiredVersion,
  tenantUserOf,
  withVersionEtag,
  type OpenApiRegistry,
  type ServiceDeps,
} from '@codex/shared';
import { z } from 'zod';
import { ActivitySchema, ContactPage, ContactSchema, DealPage, DealSchema, PipelineSchema, PipelineSummarySchema, StageSchema, Timeline } from './crm-schemas';
import { ACTIVITY_TYPES, STAGE_KINDS } from '../domain/crm-rules';
import { ContactFields, hasNameOrEmail, NAME_OR_EMAIL } from '../domain/contact-fields';
import * as crm from '../domain/crm';

const Id = z.object({ id: z.uuid() });
const version = z.number().int().positive().optional();
const nonEmpty = (body: object) => Object.keys(body).some((key) => key !== 'version');

const CreateContact = z
  .strictObject({
    clientId: ContactFields.clientId.default(null),
    externalId: ContactFields.externalId.default(null),
    firstName: ContactFields.firstName.default(''),
    lastName: ContactFields.lastName.default(''),
    email: ContactFields.email.default(null),
    phone: ContactFields.phone.default(null),
    title: ContactFields.title.default(null),
    ownerId: ContactFields.ownerId.default(null),
  })
  .refine(hasNameOrEmail, NAME_OR_EMAIL);
const UpdateContact = z
  .strictObject({ ...Object.fromEntries(Object.entries(ContactFields).map(([k, v]) => [k, v.optional()])), version } as {
    [K in keyof typeof ContactFields]: z.ZodOptional<(typeof ContactFields)[K]>;
  } & { version: typeof version })
  .refine(nonEmpty, 'nothing to change');

const DealFields = {
  title: z.string().trim().min(1).max(200),
  valueMinor: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR'),
  clientId: z.uuid().nullable(),
  contactId: z.uuid().nullable(),
  ownerId: z.uuid().nullable(),
  expectedCloseDate: CalendarDate.nullable(),
  probability: z.number().int().min(0).max(100).nullable(),
};
const CreateDeal = z.strictObject({
  title: DealFields.title,
  valueMinor: DealFields.valueMinor.default(0),
  currency: DealFields.currency,
  clientId: DealFields.clientId.default(null),
  contactId: DealFields.contactId.default(null),
  ownerId: DealFields.ownerId.default(null),
  expectedCloseDate: DealFields.expectedCloseDate.default(null),
  probability: DealFields.probability.default(null),
  pipelineId: z.uuid().optional(),
  stageId: z.uuid().optional(),
});
const UpdateDeal = z
  .strictObject({ ...Object.fromEntries(Object.entries(DealFields).map(([k, v]) => [k, v.optional()])), version } as {
    [K in keyof typeof DealFields]: z.ZodOptional<(typeof DealFields)[K]>;
  } & { version: typeof version })
  .refine(nonEmpty, 'nothing to change');
const MoveDeal = z.strictObject({ stageId: z.uuid(), lostReason: z.string().trim().min(1).max(500).optional(), version });

const StageInput = z.strictObject({
  id: z.uuid().optional(),
  name: z.string().trim().min(1).max(100),
  kind: z.enum(STAGE_KINDS).default('open'),
  probability: z.number().int().min(0).max(100).default(0),
});
const Stages = z
  .array(StageInput)
  .min(1)
  .max(30)
  .refine((stages) => new Set(stages.map((s) => s.name.toLowerCase())).size === stages.length, 'stage names must differ');

const CreateActivity = z
  .strictObject({
    type: z.enum(ACTIVITY_TYPES),
    subject: z.string().trim().min(1).max(200),
    body: z.string().max(10_000).nullable().default(null),
    dueAt: Instant.nullable().default(null),
    contactId: z.uuid().nullable().default(null),
    dealId: z.uuid().nullable().default(null),
    ownerId: z.uuid().nullable().default(null),
  })
  .refine((a) => a.contactId || a.dealId, 'an activity is linked to a contact or a deal');

/** `/api/v1/crm/...`: contacts, deals, pipelines and stages, activities, timelines. */
export function crmRoutes(deps: ServiceDeps<'crm'>, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/api/v1/crm');
  const crmDeps: crm.CrmDeps = { tenants: deps.tenants, clients: deps.clients, entitlements: deps.entitlements };
  const once = idempotent({ db: deps.db, secrets: deps.secrets, logger: deps.logger });
  const reads = { access: 'user', permission: 'crm:read' } as const;
  const writes = { access: 'user', permission: 'crm:write' } as const;

  api.get(
    '/pipelines',
    {
      operationId: 'listPipelines',
      summary: 'Pipelines with their ordered stages',
      tags: ['pipelines'],
      responses: { 200: { description: 'Pipelines', schema: z.object({ items: z.array(PipelineSchema) }) } },
      ...reads,
    },
    async (req, res) => {
      res.json({ items: await crm.pipelines(crmDeps, tenantUserOf(req)) });
    },
  );
  api.post(
    '/pipelines',
    {
      operationId: 'createPipeline',
      summary: 'Create a pipeline',
      tags: ['pipelines'],
      body: z.strictObject({ name: z.string().trim().min(1).max(100), stages: Stages }),
      responses: { 201: { description: 'Created', schema: PipelineSchema } },
      errors: [409, 422],
      ...writes,
    },
    once,
    async (req, res) => {
      const pipeline = await crm.createPipeline(crmDeps, tenantUserOf(req), req.body.name, req.body.stages);
      res.status(201).location(`/api/v1/crm/pipelines/${pipeline.id}`).json(pipeline);
    },
  );
  api.put(
    '/pipelines/:id/stages',
    {
      operationId: 'setPipelineStages',
      summary: 'Replace a pipeline’s ordered stages (ids keep stages, new ones are added)',
      tags: ['pipelines'],
      params: Id,
      body: z.strictObject({ stages: Stages }),
      responses: { 200: { description: 'Stages', schema: z.object({ items: z.array(StageSchema) }) } },
      errors: [409],
      ...writes,
    },
    async (req, res) => {
      res.json({ items: await crm.setStages(crmDeps, tenantUserOf(req), req.params.id, req.body.stages) });
    },
  );
  api.get(
    '/pipeline',
    {
      operationId: 'summarisePipeline',
      summary: 'Count and value of deals per stage',
      tags: ['pipelines'],
      query: z.object({ pipelineId: z.uuid().optional() }),
      responses: { 200: { description: 'Summary', schema: PipelineSummarySchema } },
      errors: [404],
      ...reads,
    },
    async (req, res) => {
      res.json(await crm.pipelineSummary(crmDeps, tenantUserOf(req), req.query.pipelineId));
    },
  );

  api.get(
    '/contacts',
    {
      operationId: 'listContacts',
      summary: 'List contacts',
      tags: ['contacts'],
      query: z.object({ clientId: z.uuid().optional(), q: z.string().trim().min(1).max(100).optional(), ...OffsetPage }),
      responses: { 200: { description: 'A page', schema: ContactPage } },
      ...reads,
    },
    async (req, res) => {
      res.json(await crm.searchContacts(crmDeps, tenantUserOf(req), req.query));
    },
  );
  api.post(
    '/contacts',
    {
      operationId: 'createContact',
      summary: 'Create a contact (clientId checked with the client service)',
      tags: ['contacts'],
      body: CreateContact,
      responses: { 201: { description: 'Created', schema: ContactSchema } },
      errors: [409, 422],
      ...writes,
    },
    once,
    async (req, res) => {
      const contact = await crm.createContact(crmDeps, tenantUserOf(req), req.body);
      withVersionEtag(res, contact).status(201).location(`/api/v1/crm/contacts/${contact.id}`).json(contact);
    },
  );
  api.get(
    '/contacts/:id',
    {
      operationId: 'getContact',
      summary: 'One contact',
      tags: ['contacts'],
      params: Id,
      responses: { 200: { description: 'The contact', schema: ContactSchema } },
      ...reads,
    },
    async (req, res) => {
      const contact = await crm.getContact(crmDeps, tenantUserOf(req), req.params.id);
      withVersionEtag(res, contact).json(contact);
    },
  );
  api.patch(
    '/contacts/:id',
    {
      operationId: 'updateContact',
      summary: 'Change a contact (If-Match or version required; 409 on conflict)',
      tags: ['contacts'],
      params: Id,
      body: UpdateContact,
      responses: { 200: { description: 'The contact', schema: ContactSchema } },
      errors: [409, 428],
      ...writes,
    },
    async (req, res) => {
      const { version: bodyVersion, ...changes } = req.body;
      const contact = await crm.changeContact(crmDeps, tenantUserOf(req), req.params.id, requiredVersion(req.get('if-match'), bodyVersion), changes);
      withVersionEtag(res, contact).json(contact);
    },
  );
  api.delete(
    '/contacts/:id',
    { operationId: 'deleteContact', summary: 'Delete a contact', tags: ['contacts'], params: Id, responses: { 204: { description: 'Deleted' } }, ...writes },
    async (req, res) => {
      await crm.removeContact(crmDeps, tenantUserOf(req), req.params.id);
      res.status(204).end();
    },
  );
  api.get(
    '/contacts/:id/timeline',
    {
      operationId: 'getContactTimeline',
      summary: 'A contact’s activities, newest first',
      tags: ['contacts'],
      params: Id,
      responses: { 200: { description: 'Timeline', schema: Timeline } },
      ...reads,
    },
    async (req, res) => {
      res.json({ items: await crm.timeline(crmDeps, tenantUserOf(req), { contactId: req.params.id }) });
    },
  );

  api.get(
    '/deals',
    {
      operationId: 'listDeals',
      summary: 'List deals',
      tags: ['deals'],
      query: z.object({
        pipelineId: z.uuid().optional(),
        stageId: z.uuid().optional(),
        status: z.enum(['open', 'won', 'lost']).optional(),
        ownerId: z.uuid().optional(),
        clientId: z.uuid().optional(),
        ...OffsetPage,
      }),
      responses: { 200: { description: 'A page', schema: DealPage } },
      ...reads,
    },
    async (req, res) => {
      res.json(await crm.searchDeals(crmDeps, tenantUserOf(req), req.query));
    },
  );
  api.post(
    '/deals',
    {
      operationId: 'createDeal',
      summary: 'Create a deal (first open stage of the default pipeline unless given)',
      tags: ['deals'],
      body: CreateDeal,
      responses: { 201: { description: 'Created', schema: DealSchema } },
      errors: [409, 422],
      ...writes,
    },
    once,
    async (req, res) => {
      const deal = await crm.createDeal(crmDeps, tenantUserOf(req), req.body);
      withVersionEtag(res, deal).status(201).location(`/api/v1/crm/deals/${deal.id}`).json(deal);
    },
  );
  api.get(
    '/deals/:id',
    { operationId: 'getDeal', summary: 'One deal', tags: ['deals'], params: Id, responses: { 200: { description: 'The deal', schema: DealSchema } }, ...reads },
    async (req, res) => {
      const deal = await crm.getDeal(crmDeps, tenantUserOf(req), req.params.id);
      withVersionEtag(res, deal).json(deal);
    },
  );
  api.patch(
    '/deals/:id',
    {
      operationId: 'updateDeal',
      summary: 'Change a deal (If-Match or version required; 409 on conflict)',
      tags: ['deals'],
      params: Id,
      body: UpdateDeal,
      responses: { 200: { description: 'The deal', schema: DealSchema } },
      errors: [409, 428],
      ...writes,
    },
    async (req, res) => {
      const { version: bodyVersion, ...changes } = req.body;
      const deal = await crm.changeDeal(crmDeps, tenantUserOf(req), req.params.id, requiredVersion(req.get('if-match'), bodyVersion), changes);
      withVersionEtag(res, deal).json(deal);
    },
  );
  api.post(
    '/deals/:id/move',
    {
      operationId: 'moveDeal',
      summary: 'Move a deal to another stage (won/lost close it; lost needs a reason)',
      tags: ['deals'],
      params: Id,
      body: MoveDeal,
      responses: { 200: { description: 'The deal', schema: DealSchema } },
      errors: [409],
      ...writes,
    },
    async (req, res) => {
      const deal = await crm.moveDeal(crmDeps, tenantUserOf(req), req.params.id, {
        ...req.body,
        version: expectedVersion(req.get('if-match'), req.body.version),
      });
      withVersionEtag(res, deal).json(deal);
    },
  );
  api.get(
    '/deals/:id/timeline',
    {
      operationId: 'getDealTimeline',
      summary: 'A deal’s stage moves and activities, newest first',
      tags: ['deals'],
      params: Id,
      responses: { 200: { description: 'Timeline', schema: Timeline } },
      ...reads,
    },
    async (req, res) => {
      res.json({ items: await crm.timeline(crmDeps, tenantUserOf(req), { dealId: req.params.id }) });
    },
  );

  api.post(
    '/activities',
    {
      operationId: 'createActivity',
      summary: 'Log a call, email, meeting, note or task',
      tags: ['activities'],
      body: CreateActivity,
      responses: { 201: { description: 'Created', schema: ActivitySchema } },
      errors: [409, 422],
      ...writes,
    },
    once,
    async (req, res) => {
      const activity = await crm.createActivity(crmDeps, tenantUserOf(req), req.body);
      res.status(201).location(`/api/v1/crm/activities/${activity.id}`).json(activity);
    },
  );
  api.post(
    '/activities/:id/complete',
    {
      operationId: 'completeActivity',
      summary: 'Mark an activity done (or not done again)',
      tags: ['activities'],
      params: Id,
      body: z.strictObject({ completed: z.boolean().default(true) }),
      responses: { 200: { description: 'The activity', schema: ActivitySchema } },
      ...writes,
    },
    async (req, res) => {
      res.json(await crm.completeActivity(crmDeps, tenantUserOf(req), req.params.id, req.body.completed));
    },
  );
  return api.router;
}
