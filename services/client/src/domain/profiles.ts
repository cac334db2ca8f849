import type { TenantPoolCache } from '@codex/shared';
import { findProfile, saveProfile, type Profile, type ProfileChanges } from '../db/profiles-repo';

/** A user's own profile (every user has one; an untouched one is empty). */
export function ownProfile(tenants: TenantPoolCache, user: { tenantId: string; userId: string }): Promise<Profile> {
  return tenants.withConnection(user.tenantId, (db) => findProfile(db, user.userId));
}

/** Changes a user's own profile; preferences merge into the saved ones. */
export function changeOwnProfile(tenants: TenantPoolCache, user: { tenantId: string; userId: string }, changes: ProfileChanges): Promise<Profile> {
  return tenants.withConnection(user.tenantId, (db) => saveProfile(db, user.userId, changes));
}
