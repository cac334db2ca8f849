import { createPool, migratePlatform, type LauncherConfig, type Logger } from '@codex/shared';
import { type BootstrapResult, ensureSuperAdmin } from './bootstrap-admin';

/**
 * What must hold before the services start: every migration applied and a
 * super admin present (what happened to it is returned, for the caller to tell).
 */
export async function preparePlatform(masterUrl: string, launcher: LauncherConfig, logger: Logger): Promise<BootstrapResult> {
  const migrated = await migratePlatform(masterUrl, logger);
  logger.info('database ready', {
    masterApplied: migrated.master.applied.length,
    tenants: Object.keys(migrated.tenants).length,
  });
  const pool = createPool(masterUrl, { max: 1 });
  try {
    const admin = await ensureSuperAdmin(pool, {
      email: launcher.adminEmail,
      password: launcher.adminPassword,
      bcryptCost: launcher.bcryptCost,
    });
    if (admin.created) logger.info('super admin created', { email: admin.email });
    return admin;
  } finally {
    await pool.end();
  }
}
