'use client';

import { SessionProvider } from 'next-auth/react';
import type { ReactNode } from 'react';

/** NextAuth's session as React Context: `useSession()` anywhere below says who is signed in. */
export function Providers({ children }: { children: ReactNode }) {
  return <SessionProvider>{children}</SessionProvider>;
}
