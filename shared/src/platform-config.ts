import { z } from 'zod';
import { ACCESS_TOKEN_MAX_TTL_SECONDS } from './auth/access-tokens';
import type { Logger } from './logger';
import type { Queryable } from './db/pool';
import { Poller, Reloadable } from './polling';

/**
 * The platform settings an operator changes at run time (GET/PUT /api/v1/admin/config), one schema for
 * all: a PUT sends the whole document, and anything left out takes its default. Each setting here is in
 * force: a setting joins the schema with the code that applies it.
 */
export const PlatformSettings = z
  .strictObject({
    defaultPlan: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,39}$/, 'must be a plan code')
      .default('free')
      .describe('The plan a tenant created without one gets'),
    signupPolicy: z.enum(['open', 'invite']).default('open').describe("A new tenant's sign-up setting: anyone with its API key, or invited users only"),
    passwordPolicy: z
      .strictObject({ minLength: z.number().int().min(10).max(72).default(10) })
      .default({ minLength: 10 })
      .describe('For tenant users and admins, checked when a password is set; never below 10'),
    sessions: z
      .strictObject({
        accessTokenMinutes: z
          .number()
          .int()
          .min(5)
          .max(ACCESS_TOKEN_MAX_TTL_SECONDS / 60)
          .default(15),
        userRefreshDays: z.number().int().min(1).max(365).default(30),
        adminRefreshHours: z
          .number()
          .int()
          .min(1)
          .max(30 * 24)
          .default(30 * 24),
      })
      .default({ accessTokenMinutes: 15, userRefreshDays: 30, adminRefreshHours: 30 * 24 })
      .describe(
        'How long a sign-in lasts: access tokens for everyone, refresh tokens per realm (tenant users, admins); for sessions started or refreshed after the change',
      ),
    mfaRequired: z
      .boolean()
      .default(false)
      .describe('Every admin signs in with a second factor (TOTP or a recovery code); an admin without one enrols at their next sign-in'),
    softDeleteGraceHours: z
      .number()
      .min(0)
      .max(24 * 365)
      .nullable()
      .default(null)
      .describe('How long a deleted tenant can be restored; null: the TENANT_DELETE_GRACE_HOURS setting'),
    maintenanceBanner: z
      .strictObject({ message: z.string().trim().min(1).max(500), level: z.enum(['info', 'warning']).default('info') })
      .nullable()
      .default(null)
      .describe('Shown by the console while set'),
  })
  .meta({ id: 'PlatformSettings' });

export type PlatformSettingsValue = z.output<typeof PlatformSettings>;

export interface PlatformConfigVersion {
  /** 0 before anything was ever saved: every setting at its default. */
  version: number;
  settings: PlatformSettingsValue;
  changedBy: string | null;
  changedAt: Date | null;
  restoredFrom: number | null;
}

export const DEFAULT_PLATFORM_CONFIG: PlatformConfigVersion = {
  version: 0,
  settings: PlatformSettings.parse({}),
  changedBy: null,
  changedAt: null,
  restoredFrom: null,
};

/** The newest saved version, or the defaults. Settings saved by an older schema are read with today's defaults filled in. */
export async function currentPlatformConfig(db: Queryable): Promise<PlatformConfigVersion> {
  const { rows } = await db.query<{ version: number; settings: unknown; changed_by: string | null; changed_at: Date; restored_from: number | null }>(
    'SELECT version, settings, changed_by, changed_at, restored_from FROM platform_config_versions ORDER BY version DESC LIMIT 1',
  );
  const row = rows[0];
  if (!row) return DEFAULT_PLATFORM_CONFIG;
  const parsed = PlatformSettings.safeParse(row.settings);
  return {
    version: row.version,
    settings: parsed.success ? parsed.data : DEFAULT_PLATFORM_CONFIG.settings,
    changedBy: row.changed_by,
    changedAt: row.changed_at,
    restoredFrom: row.restored_from,
  };
}

/**
 * The platform configuration in force, kept in process and reloaded when the newest version number moves
 * (read each second, like the entitlements epoch), so a change applies on every instance within seconds
 * without a restart. Polling starts with the first read.
 */
export class PlatformConfig {
  private readonly loaded: Reloadable<PlatformConfigVersion>;
  private readonly poller: Poller;

  constructor(
    private readonly db: Queryable,
    options: { pollMs?: number; logger?: Logger } = {},
  ) {
    this.loaded = new Reloadable(() => currentPlatformConfig(db));
    this.poller = new Poller(() => this.refresh(), options.pollMs ?? 1_000, { logger: options.logger, message: 'platform config poll failed' });
  }

  current(): Promise<PlatformConfigVersion> {
    this.poller.start();
    return this.loaded.get();
  }

  /** Reads the newest version number now and reloads when it moved (tests, and after a local change). */
  async refresh(): Promise<void> {
    const { rows } = await this.db.query<{ version: number | null }>('SELECT max(version) AS version FROM platform_config_versions');
    const held = await this.loaded.held()?.catch(() => undefined);
    if (!held || held.version !== (rows[0]?.version ?? 0)) this.loaded.drop();
  }

  close(): void {
    this.poller.stop();
  }
}
