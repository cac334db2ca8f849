import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import type { ReactNode } from 'react';
import { Navigation } from '@/components/navigation';
import { SessionProvider } from '@/lib/session-context';
import type { Me } from '@/lib/types';
import { GatewayUnreachableError, callGatewayJson } from '@/server/gateway';
import { ACCESS_COOKIE } from '@/server/session';

/** Every console page: the signed-in admin (their role decides which buttons show) and the navigation. */
export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const accessToken = (await cookies()).get(ACCESS_COOKIE)?.value;
  let me: Me | null = null;
  try {
    const answer = await callGatewayJson<Me>('/api/v1/auth/admin/me', { accessToken });
    if (answer.status === 401) redirect('/sign-in');
    if (answer.status === 200) me = answer.body;
  } catch (err) {
    if (!(err instanceof GatewayUnreachableError)) throw err;
  }
  if (!me) {
    return (
      <main className="p-8">
        <h1 className="text-xl font-semibold">The platform does not answer</h1>
        <p role="alert" className="mt-2 text-sm">
          The console could not reach the gateway to read your session. It retries when you reload this page.
        </p>
      </main>
    );
  }
  return (
    <SessionProvider me={me}>
      <div className="flex min-h-screen flex-col md:flex-row">
        <Navigation />
        <main className="min-w-0 flex-1 p-4 md:p-8">{children}</main>
      </div>
    </SessionProvider>
  );
}
