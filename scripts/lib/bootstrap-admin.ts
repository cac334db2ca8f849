import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import type { Queryable } from '@codex/shared';

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
