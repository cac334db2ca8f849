import type { Queryable } from '@codex/shared';
import type { StageKind } from '../domain/crm-rules';

export interface Stage {
  id: string;
  pipelineId: string;
  name: string;
  position: number;
  kind: StageKind;
  probability: number;
}

export interface Pipeline {
  id: string;
  name: string;
  isDefault: boolean;
  stages: Stage[];
}

export interface StageInput {
  id?: string;
  name: string;
  kind: Stage['kind'];
  probability: number;
}

interface StageRow {
  id: string;
  pipeline_id: string;
  name: string;
  position: number;
  kind: Stage['kind'];
  probability: number;
}

const toStage = (row: StageRow): Stage => ({
  id: row.id,
  pipelineId: row.pipeline_id,
  name: row.name,
  position: row.position,
  kind: row.kind,
  probability: row.probability,
});

export async function listPipelines(db: Queryable): Promise<Pipeline[]> {
  const pipelines = await db.query<{ id: string; name: string; is_default: boolean }>(
    'SELECT id, name, is_default FROM pipelines ORDER BY is_default DESC, name',
  );
  const stages = await db.query<StageRow>('SELECT id, pipeline_id, name, position, kind, probability FROM stages ORDER BY pipeline_id, position');
  return pipelines.rows.map((p) => ({
    id: p.id,
    name: p.name,
    isDefault: p.is_default,
    stages: stages.rows.filter((s) => s.pipeline_id === p.id).map(toStage),
  }));
}

/** Inserts a pipeline; undefined when the name is taken (or, for the default, when one exists). */
export async function insertPipeline(db: Queryable, name: string, isDefault: boolean): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>('INSERT INTO pipelines (name, is_default) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING id', [
    name,
    isDefault,
  ]);
  return rows[0]?.id;
}

export async function pipelineExists(db: Queryable, id: string): Promise<boolean> {
  return Boolean((await db.query('SELECT 1 FROM pipelines WHERE id = $1 FOR UPDATE', [id])).rowCount);
}

export async function listStages(db: Queryable, pipelineId: string): Promise<Stage[]> {
  const { rows } = await db.query<StageRow>('SELECT id, pipeline_id, name, position, kind, probability FROM stages WHERE pipeline_id = $1 ORDER BY position', [
    pipelineId,
  ]);
  return rows.map(toStage);
}

export async function findStage(db: Queryable, id: string): Promise<Stage | undefined> {
  const { rows } = await db.query<StageRow>('SELECT id, pipeline_id, name, position, kind, probability FROM stages WHERE id = $1', [id]);
  return rows[0] && toStage(rows[0]);
}

/** Rewrites a pipeline's stages in the given order: listed ids are kept and updated, new ones added, others removed. */
export async function replaceStages(db: Queryable, pipelineId: string, stages: StageInput[]): Promise<void> {
  const keep = stages.map((s) => s.id).filter((id): id is string => Boolean(id));
  await db.query('DELETE FROM stages WHERE pipeline_id = $1 AND NOT (id = ANY($2::uuid[]))', [pipelineId, keep]);
  // Names are unique per pipeline; park them first so a reorder that swaps names cannot collide.
  await db.query(`UPDATE stages SET name = '~' || id::text WHERE pipeline_id = $1`, [pipelineId]);
  for (const [position, stage] of stages.entries()) {
    if (stage.id) {
      await db.query('UPDATE stages SET name = $3, position = $4, kind = $5, probability = $6 WHERE id = $1 AND pipeline_id = $2', [
        stage.id,
        pipelineId,
        stage.name,
        position,
        stage.kind,
        stage.probability,
      ]);
    } else {
      await db.query('INSERT INTO stages (pipeline_id, name, position, kind, probability) VALUES ($1, $2, $3, $4, $5)', [
        pipelineId,
        stage.name,
        position,
        stage.kind,
        stage.probability,
      ]);
    }
  }
}

export async function stagesInUse(db: Queryable, pipelineId: string, keep: string[]): Promise<string[]> {
  const { rows } = await db.query<{ stage_id: string }>('SELECT DISTINCT stage_id FROM deals WHERE pipeline_id = $1 AND NOT (stage_id = ANY($2::uuid[]))', [
    pipelineId,
    keep,
  ]);
  return rows.map((r) => r.stage_id);
}
