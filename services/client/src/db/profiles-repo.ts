import type { Queryable } from '@codex/shared';

export interface Profile {
  userId: string;
  displayName: string | null;
  avatarUrl: string | null;
  locale: string | null;
  timezone: string | null;
  preferences: Record<string, unknown>;
}

export type ProfileChanges = Partial<Omit<Profile, 'userId'>>;

interface ProfileRow {
  user_id: string;
  display_name: string | null;
  avatar_url: string | null;
  locale: string | null;
  timezone: string | null;
  preferences: Record<string, unknown>;
}

function toProfile(row: ProfileRow): Profile {
  return {
    userId: row.user_id,
    displayName: row.display_name,
    avatarUrl: row.avatar_url,
    locale: row.locale,
    timezone: row.timezone,
    preferences: row.preferences,
  };
}

/** The user's profile; an empty one when they never saved any. */
export async function findProfile(db: Queryable, userId: string): Promise<Profile> {
  const { rows } = await db.query<ProfileRow>('SELECT user_id, display_name, avatar_url, locale, timezone, preferences FROM profiles WHERE user_id = $1', [
    userId,
  ]);
  return rows[0] ? toProfile(rows[0]) : { userId, displayName: null, avatarUrl: null, locale: null, timezone: null, preferences: {} };
}

/** Creates or changes the profile; fields left out keep their value, preferences merge key by key. */
export async function saveProfile(db: Queryable, userId: string, changes: ProfileChanges): Promise<Profile> {
  const { rows } = await db.query<ProfileRow>(
    `INSERT INTO profiles (user_id, display_name, avatar_url, locale, timezone, preferences)
     VALUES ($1, $2, $3, $4, $5, COALESCE($6::jsonb, '{}'::jsonb))
     ON CONFLICT (user_id) DO UPDATE SET
       display_name = CASE WHEN $7 THEN EXCLUDED.display_name ELSE profiles.display_name END,
       avatar_url = CASE WHEN $8 THEN EXCLUDED.avatar_url ELSE profiles.avatar_url END,
       locale = CASE WHEN $9 THEN EXCLUDED.locale ELSE profiles.locale END,
       timezone = CASE WHEN $10 THEN EXCLUDED.timezone ELSE profiles.timezone END,
       preferences = profiles.preferences || COALESCE($6::jsonb, '{}'::jsonb)
     RETURNING user_id, display_name, avatar_url, locale, timezone, preferences`,
    [
      userId,
      changes.displayName ?? null,
      changes.avatarUrl ?? null,
      changes.locale ?? null,
      changes.timezone ?? null,
      changes.preferences ? JSON.stringify(changes.preferences) : null,
      'displayName' in changes,
      'avatarUrl' in changes,
      'locale' in changes,
      'timezone' in changes,
    ],
  );
  return toProfile(rows[0]!);
}
