import type { Queryable } from '@codex/shared';

import type { ACTIVITY_TYPES } from '../domain/crm-rules';

export interface Activity {
  id: string;
  type: (typeof ACTIVITY_TYPES)[number];
  subject: string;
  body: string | null;
  dueAt: Date | null;
  completedAt: Date | null;
  contactId: string | null;
  dealId: string | null;
  ownerId: string | null;
  createdBy: string | null;
  createdAt: Date;
}

export type ActivityInput = Pick<Activity, 'type' | 'subject' | 'body' | 'dueAt' | 'contactId' | 'dealId' | 'ownerId'>;

interface ActivityRow {
  id: string;
  type: Activity['type'];
  subject: string;
  body: string | null;
  due_at: Date | null;
  completed_at: Date | null;
  contact_id: string | null;
  deal_id: string | null;
  owner_id: string | null;
  created_by: string | null;
  created_at: Date;
}

const COLUMNS = 'id, type, subject, body, due_at, completed_at, contact_id, deal_id, owner_id, created_by, created_at';

const toActivity = (row: ActivityRow): Activity => ({
  id: row.id,
  type: row.type,
  subject: row.subject,
  body: row.body,
  dueAt: row.due_at,
  completedAt: row.completed_at,
  contactId: row.contact_id,
  dealId: row.deal_id,
  ownerId: row.owner_id,
  createdBy: row.created_by,
  createdAt: row.created_at,
});

export async function insertActivity(db: Queryable, input: ActivityInput & { createdBy: string }): Promise<Activity> {
  const { rows } = await db.query<ActivityRow>(
    `INSERT INTO activities (type, subject, body, due_at, contact_id, deal_id, owner_id, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
    [input.type, input.subject, input.body, input.dueAt, input.contactId, input.dealId, input.ownerId, input.createdBy],
  );
  return toActivity(rows[0]!);
}

export async function findActivity(db: Queryable, id: string): Promise<Activity | undefined> {
  const { rows } = await db.query<ActivityRow>(`SELECT ${COLUMNS} FROM activities WHERE id = $1`, [id]);
  return rows[0] && toActivity(rows[0]);
}

export async function setActivityCompleted(db: Queryable, id: string, completed: boolean): Promise<Activity> {
  const { rows } = await db.query<ActivityRow>(
    `UPDATE activities SET completed_at = CASE WHEN $2 THEN COALESCE(completed_at, now()) ELSE NULL END WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, completed],
  );
  return toActivity(rows[0]!);
}

/** A contact's or deal's activities, newest first. */
export async function activitiesOf(db: Queryable, link: { contactId?: string; dealId?: string }): Promise<Activity[]> {
  const { rows } = await db.query<ActivityRow>(
    `SELECT ${COLUMNS} FROM activities WHERE ($1::uuid IS NULL OR contact_id = $1) AND ($2::uuid IS NULL OR deal_id = $2) ORDER BY created_at DESC, id DESC LIMIT 500`,
    [link.contactId ?? null, link.dealId ?? null],
  );
  return rows.map(toActivity);
}
