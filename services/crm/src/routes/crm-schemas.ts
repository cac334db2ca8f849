import { z } from 'zod';
import { ACTIVITY_TYPES, STAGE_KINDS } from '../domain/crm-rules';

/** The CRM's answers, as its OpenAPI document declares them. */
const at = z.iso.datetime();
const id = z.uuid();

export const StageSchema = z
  .object({ id, pipelineId: id, name: z.string(), position: z.number().int(), kind: z.enum(STAGE_KINDS), probability: z.number().int() })
  .meta({ id: 'Stage' });
export const PipelineSchema = z.object({ id, name: z.string(), isDefault: z.boolean(), stages: z.array(StageSchema) }).meta({ id: 'Pipeline' });
export const PipelineSummarySchema = z
  .object({
    pipelineId: id,
    name: z.string(),
    stages: z.array(
      z.object({
        stageId: id,
        name: z.string(),
        kind: z.string(),
        position: z.number().int(),
        count: z.number().int(),
        value: z.record(z.string(), z.number()).describe('Total deal value per currency, in minor units'),
      }),
    ),
  })
  .meta({ id: 'PipelineSummary' });

const RecordMeta = { version: z.number().int(), createdBy: id.nullable(), createdAt: at, updatedAt: at };

export const ContactSchema = z
  .object({
    id,
    clientId: id.nullable(),
    externalId: z.string().nullable(),
    firstName: z.string(),
    lastName: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    title: z.string().nullable(),
    ownerId: id.nullable(),
    ...RecordMeta,
  })
  .meta({ id: 'Contact' });
export const ContactPage = z.object({ items: z.array(ContactSchema), total: z.number().int() });

export const DealSchema = z
  .object({
    id,
    title: z.string(),
    valueMinor: z.number().int(),
    currency: z.string(),
    pipelineId: id,
    stageId: id,
    status: z.enum(['open', 'won', 'lost']),
    lostReason: z.string().nullable(),
    clientId: id.nullable(),
    contactId: id.nullable(),
    ownerId: id.nullable(),
    expectedCloseDate: z.iso.date().nullable(),
    probability: z.number().int().nullable(),
    closedAt: at.nullable(),
    ...RecordMeta,
  })
  .meta({ id: 'Deal' });
export const DealPage = z.object({ items: z.array(DealSchema), total: z.number().int() });

export const ActivitySchema = z
  .object({
    id,
    type: z.enum(ACTIVITY_TYPES),
    subject: z.string(),
    body: z.string().nullable(),
    dueAt: at.nullable(),
    completedAt: at.nullable(),
    contactId: id.nullable(),
    dealId: id.nullable(),
    ownerId: id.nullable(),
    createdBy: id.nullable(),
    createdAt: at,
  })
  .meta({ id: 'Activity' });

export const Timeline = z.object({
  items: z.array(z.object({ at, kind: z.enum(['stage', 'activity']), detail: z.record(z.string(), z.unknown()) })),
});
