import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import bcrypt from 'bcrypt';
import type { LauncherConfig, Queryable } from '@codex/shared';

export interface BootstrapResult {
  created: boolean;
  email: string;
  /** Present only when we generated it; shown once, never stored in plain text. */
  generatedPassword?: string;
}

/**
 * Makes sure the platform has a super admin. The first start creates one from
 * ADMIN_EMAIL/ADMIN_PASSWORD, or generates a password to print once; later
 * starts leave admins alone.
 */
export async function ensureSuperAdmin(db: Queryable, options: { email: string; password?: string; bcryptCost: number }): Promise<BootstrapResult> {
  const existing = await db.query<{ email: string }>(`SELECT email FROM admins WHERE role = 'super_admin' ORDER BY created_at LIMIT 1`);
  if (existing.rows[0]) return { created: false, email: existing.rows[0].email };

  const generatedPassword = options.password ? undefined : randomBytes(15).toString('base64url');
  const passwordHash = await bcrypt.hash(options.password ?? generatedPassword!, options.bcryptCost);
  const inserted = await db.query(
    `INSERT INTO admins (email, name, password_hash, role) VALUES ($1, 'Super admin', $2, 'super_admin')
     ON CONFLICT (lower(email)) DO NOTHING`,
    [options.email, passwordHash],
  );
  if (inserted.rowCount === 0) return { created: false, email: options.email };
  return { created: true, email: options.email, generatedPassword };
}

/** Where the first admin's generated password is kept for its operator (mode 600, in DATA_DIR). */
export const FIRST_ADMIN_FILE = 'first-admin.txt';

/**
 * What the operator must know about the super admin, shown after "is up" where
 * it cannot scroll away: a generated password in a frame (also written to a
 * mode-600 file in DATA_DIR), or a warning that ADMIN_PASSWORD was ignored
 * because an admin already exists.
 */
export async function adminNotice(admin: BootstrapResult, launcher: Pick<LauncherConfig, 'adminPassword' | 'dataDir'>): Promise<string[]> {
  if (admin.generatedPassword) {
    const file = path.resolve(launcher.dataDir, FIRST_ADMIN_FILE);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${admin.email}\n${admin.generatedPassword}\n`, { mode: 0o600 });
    const lines = [`First super admin: ${admin.email}`, `Password:          ${admin.generatedPassword}`, `(also in ${file}, readable by you only)`];
    const width = Math.max(...lines.map((line) => line.length));
    return [`  +${'-'.repeat(width + 2)}+`, ...lines.map((line) => `  | ${line.padEnd(width)} |`), `  +${'-'.repeat(width + 2)}+`, ''];
  }
  if (!admin.created && launcher.adminPassword) {
    return [
      `  Note: ADMIN_PASSWORD is set but a super admin (${admin.email}) already exists, so it was not used.`,
      '  To reset a password: npm run admin -- reset-password <email>',
      '',
    ];
  }
  return [];
}
