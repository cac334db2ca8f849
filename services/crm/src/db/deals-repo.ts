import { versionedUpdate, type Queryable } from '@codex/shared';

export interface Deal {
  id: string;
  title: string;
  valueMinor: number;
  currency: string;
  pipelineId: string;
  stageId: string;
  status: 'open' | 'won' | 'lost';
  lostReason: string | null;
  clientId: string | null;
  contactId: string | null;
  ownerId: string | null;
  expectedCloseDate: string | null;
  probability: number | null;
  closedAt: Date | null;
  version: number;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type DealInput = Pick<Deal, 'title' | 'valueMinor' | 'currency' | 'clientId' | 'contactId' | 'ownerId' | 'expectedCloseDate' | 'probability'>;

interface DealRow {
  id: string;
  title: string;
  value_minor: string;
  currency: string;
  pipeline_id: string;
  stage_id: string;
  status: Deal['status'];
  lost_reason: string | null;
  client_id: string | null;
  contact_id: string | null;
  owner_id: string | null;
  expected_close_date: string | null;
  probability: number | null;
  closed_at: Date | null;
  version: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, title, value_minor, currency, pipeline_id, stage_id, status, lost_reason, client_id, contact_id, owner_id,
  to_char(expected_close_date, 'YYYY-MM-DD') AS expected_close_date, probability, closed_at, version, created_by, created_at, updated_at`;

const toDeal = (row: DealRow): Deal => ({
  id: row.id,
  title: row.title,
  valueMinor: Number(row.value_minor),
  currency: row.currency,
  pipelineId: row.pipeline_id,
  stageId: row.stage_id,
  status: row.status,
  lostReason: row.lost_reason,
  clientId: row.client_id,
  contactId: row.contact_id,
  ownerId: row.owner_id,
  expectedCloseDate: row.expected_close_date,
  probability: row.probability,
  closedAt: row.closed_at,
  version: row.version,
  createdBy: row.created_by,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const INPUT_COLUMNS: Record<keyof DealInput, string> = {
  title: 'title',
  valueMinor: 'value_minor',
  currency: 'currency',
  clientId: 'client_id',
  contactId: 'contact_id',
  ownerId: 'owner_id',
  expectedCloseDate: 'expected_close_date',
  probability: 'probability',
};

export async function insertDeal(db: Queryable, input: DealInput & { pipelineId: string; stageId: string; createdBy: string }): Promise<Deal> {
  const { rows } = await db.query<DealRow>(
    `INSERT INTO deals (title, value_minor, currency, pipeline_id, stage_id, client_id, contact_id, owner_id, expected_close_date, probability, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${COLUMNS}`,
    [
      input.title,
      input.valueMinor,
      input.currency,
      input.pipelineId,
      input.stageId,
      input.clientId,
      input.contactId,
      input.ownerId,
      input.expectedCloseDate,
      input.probability,
      input.createdBy,
    ],
  );
  return toDeal(rows[0]!);
}

export async function findDeal(db: Queryable, id: string, forUpdate = false): Promise<Deal | undefined> {
  const { rows } = await db.query<DealRow>(`SELECT ${COLUMNS} FROM deals WHERE id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`, [id]);
  return rows[0] && toDeal(rows[0]);
}

export async function updateDeal(db: Queryable, id: string, changes: Partial<DealInput>): Promise<Deal> {
  const { text, values } = versionedUpdate('deals', INPUT_COLUMNS, id, changes, COLUMNS);
  const { rows } = await db.query<DealRow>(text, values);
  return toDeal(rows[0]!);
}

/** Puts the deal in a stage with the given status (closed unless open) and records the move. */
export async function moveDealToStage(
  db: Queryable,
  deal: Deal,
  to: { stageId: string; status: Deal['status']; lostReason: string | null },
  movedBy: string,
): Promise<Deal> {
  const { rows } = await db.query<DealRow>(
    `UPDATE deals SET stage_id = $2, status = $3, lost_reason = $4,
            closed_at = CASE WHEN $3 = 'open' THEN NULL ELSE COALESCE(closed_at, now()) END, version = version + 1
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [deal.id, to.stageId, to.status, to.lostReason],
  );
  await db.query('INSERT INTO deal_stage_history (deal_id, from_stage_id, to_stage_id, moved_by) VALUES ($1, $2, $3, $4)', [
    deal.id,
    deal.stageId,
    to.stageId,
    movedBy,
  ]);
  return toDeal(rows[0]!);
}

export async function recordFirstStage(db: Queryable, deal: Deal, movedBy: string): Promise<void> {
  await db.query('INSERT INTO deal_stage_history (deal_id, from_stage_id, to_stage_id, moved_by) VALUES ($1, NULL, $2, $3)', [deal.id, deal.stageId, movedBy]);
}

export interface DealFilter {
  pipelineId?: string;
  stageId?: string;
  status?: Deal['status'];
  ownerId?: string;
  clientId?: string;
  limit: number;
  offset: number;
}

export async function listDeals(db: Queryable, filter: DealFilter): Promise<{ items: Deal[]; total: number }> {
  const where = [
    '($1::uuid IS NULL OR pipeline_id = $1)',
    '($2::uuid IS NULL OR stage_id = $2)',
    '($3::text IS NULL OR status = $3)',
    '($4::uuid IS NULL OR owner_id = $4)',
    '($5::uuid IS NULL OR client_id = $5)',
  ].join(' AND ');
  const params = [filter.pipelineId ?? null, filter.stageId ?? null, filter.status ?? null, filter.ownerId ?? null, filter.clientId ?? null];
  const [page, count] = await Promise.all([
    db.query<DealRow>(`SELECT ${COLUMNS} FROM deals WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7`, [
      ...params,
      filter.limit,
      filter.offset,
    ]),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM deals WHERE ${where}`, params),
  ]);
  return { items: page.rows.map(toDeal), total: count.rows[0]?.n ?? 0 };
}

export interface StageSummary {
  stageId: string;
  name: string;
  kind: string;
  position: number;
  count: number;
  /** Total deal value per currency, in minor units. */
  value: Record<string, number>;
}

/** Count and value of the deals in each stage of a pipeline, stages in order (empty ones included). */
export async function summarisePipeline(db: Queryable, pipelineId: string): Promise<StageSummary[]> {
  const { rows } = await db.query<{ stage_id: string; name: string; kind: string; position: number; currency: string | null; n: number; total: string | null }>(
    `SELECT s.id AS stage_id, s.name, s.kind, s.position, d.currency, count(d.id)::int AS n, sum(d.value_minor)::text AS total
       FROM stages s LEFT JOIN deals d ON d.stage_id = s.id
      WHERE s.pipeline_id = $1
      GROUP BY s.id, s.name, s.kind, s.position, d.currency
      ORDER BY s.position`,
    [pipelineId],
  );
  const byStage = new Map<string, StageSummary>();
  for (const row of rows) {
    const summary = byStage.get(row.stage_id) ?? { stageId: row.stage_id, name: row.name, kind: row.kind, position: row.position, count: 0, value: {} };
    if (row.currency) {
      summary.count += row.n;
      summary.value[row.currency] = Number(row.total);
    }
    byStage.set(row.stage_id, summary);
  }
  return [...byStage.values()];
}

export interface TimelineEntry {
  at: Date;
  kind: 'stage' | 'activity';
  detail: Record<string, unknown>;
}

export async function dealStageHistory(db: Queryable, dealId: string): Promise<TimelineEntry[]> {
  const { rows } = await db.query<{ moved_at: Date; from_stage_id: string | null; to_stage_id: string; moved_by: string | null }>(
    'SELECT moved_at, from_stage_id, to_stage_id, moved_by FROM deal_stage_history WHERE deal_id = $1 ORDER BY moved_at, id',
    [dealId],
  );
  return rows.map((r) => ({ at: r.moved_at, kind: 'stage', detail: { fromStageId: r.from_stage_id, toStageId: r.to_stage_id, movedBy: r.moved_by } }));
}
