import { createPool, migratePlatform, type LauncherConfig, type Logger } from '@codex/shared';
import { ensureSuperAdmin } from './bootstrap-admin';

/**
 * What must hold before the services start: every migration applied and a
 * super admin present. A generated admin password is printed here, once.
 */
export async function preparePlatform(masterUrl: string, launcher: LauncherConfig, logger: Logger): Promise<void> {
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
    if (admin.generatedPassword) {
      process.stdout.write(
        `\nCreated super admin ${admin.email} with password: ${admin.generatedPassword}\n` +
          'It is shown only this once; set ADMIN_PASSWORD before the first start to choose your own.\n\n',
      );
    } else if (admin.created) {
      logger.info('super admin created', { email: admin.email });
    }
  } finally {
    await pool.end();
  }
}
