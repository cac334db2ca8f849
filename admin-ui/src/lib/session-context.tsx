'use client';

import { createContext, useContext, type ReactNode } from 'react';
import type { Me } from './types';

const SessionContext = createContext<Me | null>(null);

/** The signed-in admin, read once per page load on the server (GET /api/v1/auth/admin/me). */
export function SessionProvider({ me, children }: { me: Me; children: ReactNode }) {
  return <SessionContext.Provider value={me}>{children}</SessionContext.Provider>;
}

export function useSession(): Me {
  const me = useContext(SessionContext);
  if (!me) throw new Error('useSession outside SessionProvider');
  return me;
}

/** Whether the admin holds a permission: buttons they cannot use are not shown (the API still decides). */
export function useCan(): (permission: string) => boolean {
  const me = useSession();
  return (permission) => me.permissions.includes(permission);
}
