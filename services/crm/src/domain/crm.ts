import {
  ErrorCode,
  type Actor,
  AppError,
  assertMayAssign,
  changeableRecord,
  ConflictError,
  NotFoundError,
  ValidationError,
  type PoolClient,
  type ServiceClients,
  type TenantPoolCache,
  uniqueConflict,
  requireFeature,
  type Entitlements,
} from '@codex/shared';
import { activitiesOf, findActivity, insertActivity, setActivityCompleted, type ActivityInput } from '../db/activities-repo';
import { findContact, insertContact, listContacts, softDeleteContact, updateContact, type ContactInput } from '../db/contacts-repo';
import {
  dealStageHistory,
  findDeal,
  insertDeal,
  listDeals,
  moveDealToStage,
  recordFirstStage,
  summarisePipeline,
  updateDeal,
  type DealFilter,
  type DealInput,
} from '../db/deals-repo';
import { findStage, insertPipeline, listPipelines, listStages, pipelineExists, replaceStages, stagesInUse, type StageInput } from '../db/pipelines-repo';
import { assertClientExists } from './client-links';
import { DEFAULT_STAGES, dealStateIn } from './crm-rules';

export interface CrmDeps {
  tenants: TenantPoolCache;
  clients: ServiceClients;
  entitlements: Entitlements;
}

const notFound = (what: 'Contact' | 'Deal' | 'Activity' | 'Pipeline') =>
  new NotFoundError(`${what} not found`, ErrorCode[`${what.toUpperCase() as Uppercase<typeof what>}_NOT_FOUND`]);

async function createPipelineIn(tx: PoolClient, name: string, stages: StageInput[], isDefault: boolean): Promise<string | undefined> {
  const id = await insertPipeline(tx, name, isDefault);
  if (id) await replaceStages(tx, id, stages);
  return id;
}

/** Every tenant has a default pipeline; it is made the first time the CRM is used. */
async function ensureDefaultPipeline(tx: PoolClient): Promise<void> {
  const pipelines = await listPipelines(tx);
  if (!pipelines.some((p) => p.isDefault)) await createPipelineIn(tx, 'Sales', DEFAULT_STAGES, true);
}

export async function pipelines(deps: CrmDeps, actor: Actor) {
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    await ensureDefaultPipeline(tx);
    return listPipelines(tx);
  });
}

export async function createPipeline(deps: CrmDeps, actor: Actor, name: string, stages: StageInput[]) {
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    const id = await createPipelineIn(tx, name, stages, false);
    if (!id) throw new ConflictError('A pipeline with this name exists', { field: 'name' }, ErrorCode.PIPELINE_EXISTS);
    return (await listPipelines(tx)).find((p) => p.id === id)!;
  });
}

/** Replaces a pipeline's ordered stages; a stage that still holds deals cannot be removed. */
export async function setStages(deps: CrmDeps, actor: Actor, pipelineId: string, stages: StageInput[]) {
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    if (!(await pipelineExists(tx, pipelineId))) throw notFound('Pipeline');
    const current = new Set((await listStages(tx, pipelineId)).map((s) => s.id));
    const unknown = stages.filter((s) => s.id && !current.has(s.id));
    if (unknown.length)
      throw new ValidationError(
        'Stages must belong to this pipeline',
        unknown.map((s) => ({ path: 'body.stages', message: `unknown stage ${s.id}` })),
      );
    const busy = await stagesInUse(
      tx,
      pipelineId,
      stages.map((s) => s.id).filter((id): id is string => Boolean(id)),
    );
    if (busy.length) throw new ConflictError('Move the deals out of a stage before removing it', { stageIds: busy }, ErrorCode.STAGE_IN_USE);
    await replaceStages(tx, pipelineId, stages);
    return listStages(tx, pipelineId);
  });
}

export async function pipelineSummary(deps: CrmDeps, actor: Actor, pipelineId?: string) {
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    await ensureDefaultPipeline(tx);
    const all = await listPipelines(tx);
    const pipeline = pipelineId ? all.find((p) => p.id === pipelineId) : all.find((p) => p.isDefault);
    if (!pipeline) throw notFound('Pipeline');
    return { pipelineId: pipeline.id, name: pipeline.name, stages: await summarisePipeline(tx, pipeline.id) };
  });
}

/** Email and external id are unique among live contacts (imports match on them); a clash is 409 naming the field. */
function contactExists(err: unknown): unknown {
  return uniqueConflict(err, 'contact', ErrorCode.CONTACT_EXISTS, { contacts_email_key: 'email', contacts_external_id_key: 'externalId' });
}

export async function createContact(deps: CrmDeps, actor: Actor, input: ContactInput) {
  assertMayAssign(actor, input.ownerId);
  await assertClientExists(deps.clients, actor, input.clientId);
  return deps.tenants
    .transaction(actor.tenantId, (tx) => insertContact(tx, { ...input, ownerId: input.ownerId ?? actor.userId, createdBy: actor.userId }))
    .catch((err: unknown) => {
      throw contactExists(err);
    });
}

export async function getContact(deps: CrmDeps, actor: Actor, id: string) {
  const contact = await deps.tenants.withConnection(actor.tenantId, (db) => findContact(db, id));
  if (!contact) throw notFound('Contact');
  return contact;
}

export function searchContacts(deps: CrmDeps, actor: Actor, filter: { clientId?: string; q?: string; limit: number; offset: number }) {
  return deps.tenants.withConnection(actor.tenantId, (db) => listContacts(db, filter));
}

export async function changeContact(deps: CrmDeps, actor: Actor, id: string, expectedVersion: number, changes: Partial<ContactInput>) {
  assertMayAssign(actor, changes.ownerId);
  await assertClientExists(deps.clients, actor, changes.clientId);
  return deps.tenants
    .transaction(actor.tenantId, async (tx) => {
      changeableRecord(actor, await findContact(tx, id, true), () => notFound('Contact'), expectedVersion);
      return updateContact(tx, id, changes);
    })
    .catch((err: unknown) => {
      throw contactExists(err);
    });
}

export async function removeContact(deps: CrmDeps, actor: Actor, id: string) {
  await deps.tenants.transaction(actor.tenantId, async (tx) => {
    changeableRecord(actor, await findContact(tx, id, true), () => notFound('Contact'));
    await softDeleteContact(tx, id);
  });
}

export async function createDeal(deps: CrmDeps, actor: Actor, input: DealInput & { stageId?: string; pipelineId?: string }) {
  await requireFeature(deps.entitlements, actor.tenantId, 'crm.deals');
  assertMayAssign(actor, input.ownerId);
  await assertClientExists(deps.clients, actor, input.clientId);
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    await ensureDefaultPipeline(tx);
    const all = await listPipelines(tx);
    const pipeline = input.pipelineId ? all.find((p) => p.id === input.pipelineId) : all.find((p) => p.isDefault);
    if (!pipeline) throw new ValidationError('No such pipeline', [{ path: 'body.pipelineId', message: 'no such pipeline' }]);
    const stage = input.stageId ? pipeline.stages.find((s) => s.id === input.stageId) : pipeline.stages.find((s) => s.kind === 'open');
    if (!stage) throw new ValidationError('No such stage in this pipeline', [{ path: 'body.stageId', message: 'no such stage in the pipeline' }]);
    if (stage.kind !== 'open') throw new ValidationError('A new deal starts in an open stage', [{ path: 'body.stageId', message: 'must be an open stage' }]);
    if (input.contactId && !(await findContact(tx, input.contactId)))
      throw new ValidationError('No such contact', [{ path: 'body.contactId', message: 'no such contact' }]);
    const deal = await insertDeal(tx, {
      ...input,
      ownerId: input.ownerId ?? actor.userId,
      pipelineId: pipeline.id,
      stageId: stage.id,
      createdBy: actor.userId,
    });
    await recordFirstStage(tx, deal, actor.userId);
    return deal;
  });
}

export async function getDeal(deps: CrmDeps, actor: Actor, id: string) {
  const deal = await deps.tenants.withConnection(actor.tenantId, (db) => findDeal(db, id));
  if (!deal) throw notFound('Deal');
  return deal;
}

export function searchDeals(deps: CrmDeps, actor: Actor, filter: DealFilter) {
  return deps.tenants.withConnection(actor.tenantId, (db) => listDeals(db, filter));
}

export async function changeDeal(deps: CrmDeps, actor: Actor, id: string, expectedVersion: number, changes: Partial<DealInput>) {
  assertMayAssign(actor, changes.ownerId);
  await assertClientExists(deps.clients, actor, changes.clientId);
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    changeableRecord(actor, await findDeal(tx, id, true), () => notFound('Deal'), expectedVersion);
    if (changes.contactId && !(await findContact(tx, changes.contactId)))
      throw new ValidationError('No such contact', [{ path: 'body.contactId', message: 'no such contact' }]);
    return updateDeal(tx, id, changes);
  });
}

/** Moves a deal to another stage of its pipeline (won/lost stages close it; lost needs a reason); the move is recorded. */
export async function moveDeal(deps: CrmDeps, actor: Actor, id: string, move: { stageId: string; lostReason?: string; version?: number }) {
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    const deal = changeableRecord(actor, await findDeal(tx, id, true), () => notFound('Deal'), move.version);
    const stage = await findStage(tx, move.stageId);
    if (!stage || stage.pipelineId !== deal.pipelineId)
      throw new ValidationError('No such stage in the deal’s pipeline', [{ path: 'body.stageId', message: 'no such stage in the pipeline' }]);
    if (stage.id === deal.stageId) throw new AppError(ErrorCode.DEAL_ALREADY_IN_STAGE, 409, 'The deal is already in this stage');
    if (stage.kind === 'lost' && !move.lostReason)
      throw new ValidationError('A lost deal needs a reason', [{ path: 'body.lostReason', message: 'required when moving to a lost stage' }]);
    return moveDealToStage(tx, deal, { stageId: stage.id, ...dealStateIn(stage.kind, move.lostReason ?? null) }, actor.userId);
  });
}

export async function createActivity(deps: CrmDeps, actor: Actor, input: ActivityInput) {
  assertMayAssign(actor, input.ownerId);
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    if (input.contactId && !(await findContact(tx, input.contactId)))
      throw new ValidationError('No such contact', [{ path: 'body.contactId', message: 'no such contact' }]);
    if (input.dealId && !(await findDeal(tx, input.dealId))) throw new ValidationError('No such deal', [{ path: 'body.dealId', message: 'no such deal' }]);
    return insertActivity(tx, { ...input, ownerId: input.ownerId ?? actor.userId, createdBy: actor.userId });
  });
}

export async function completeActivity(deps: CrmDeps, actor: Actor, id: string, completed: boolean) {
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    changeableRecord(actor, await findActivity(tx, id), () => notFound('Activity'));
    return setActivityCompleted(tx, id, completed);
  });
}

/** A contact's or deal's story: activities and (for deals) stage moves, newest first. */
export async function timeline(deps: CrmDeps, actor: Actor, of: { contactId?: string; dealId?: string }) {
  return deps.tenants.withConnection(actor.tenantId, async (db) => {
    if (of.contactId && !(await findContact(db, of.contactId))) throw notFound('Contact');
    if (of.dealId && !(await findDeal(db, of.dealId))) throw notFound('Deal');
    const activities = (await activitiesOf(db, of)).map((a) => ({
      at: a.createdAt,
      kind: 'activity' as const,
      detail: a as unknown as Record<string, unknown>,
    }));
    const moves = of.dealId ? await dealStageHistory(db, of.dealId) : [];
    return [...activities, ...moves].sort((a, b) => b.at.getTime() - a.at.getTime());
  });
}
