'use client';

import type { Entitlements } from '@codex-metatron/sdk';
import { useSession } from 'next-auth/react';
import { useEffect, useState } from 'react';
import { api } from '@/lib/api';

/** A plan limit counts as near from this share of it on. */
const NEAR = 0.8;

const LIMITS: Array<{ usage: keyof Entitlements['usage']; limit: keyof Entitlements['limits']; label: string }> = [
  { usage: 'clients', limit: 'maxClients', label: 'clients' },
  { usage: 'users', limit: 'maxUsers', label: 'users' },
  { usage: 'apiCalls', limit: 'apiCallsPerMonth', label: 'API calls this period' },
];

/** Says so when the tenant's plan is nearly used up (entitlements are revalidated by ETag, so this costs a 304 mostly). */
export function EntitlementsBanner() {
  const { status } = useSession();
  const [entitlements, setEntitlements] = useState<Entitlements>();
  useEffect(() => {
    if (status !== 'authenticated') return;
    let live = true;
    const load = () =>
      api()
        .entitlements()
        .then((value) => live && setEntitlements(value))
        .catch(() => undefined);
    load();
    const timer = setInterval(load, 60_000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [status]);
  if (!entitlements) return null;
  const near = LIMITS.flatMap(({ usage, limit, label }) => {
    const max = entitlements.limits[limit];
    const used = entitlements.usage[usage];
    return typeof max === 'number' && used >= max * NEAR ? [`${used.toLocaleString()} of ${max.toLocaleString()} ${label}`] : [];
  });
  if (!near.length) return null;
  return (
    <div
      role="status"
      data-testid="entitlements-banner"
      className="border-b border-amber-300 bg-amber-50 px-4 py-2 text-center text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100"
    >
      Your {entitlements.plan.name} plan is nearly used up: {near.join(', ')}. Ask your administrator about a larger plan.
    </div>
  );
}
