'use client';

import { type FormEvent, useState } from 'react';
import useSWR from 'swr';
import { Badge, Button, Card, ErrorNote, PageHeader, Table } from '@/components/ui';
import { type ApiError, fetcher, gw } from '@/lib/api';
import { money, rolloutShare } from '@/lib/format';
import { useCan } from '@/lib/session-context';
import { useAction } from '@/lib/use-action';

interface Plan {
  code: string;
  name: string;
  public: boolean;
  archivedAt: string | null;
  latest: { version: number; amountMinor: number; currency: string; interval: string; trialDays: number; limits: Record<string, unknown>; features: string[] };
}
interface Flag {
  key: string;
  description: string | null;
  enabled: boolean;
  defaultValue: boolean;
  rollout: { percentage: number; stickiness: 'tenant' | 'user' } | null;
  version: number;
}

export function PlansAndFlags() {
  const plans = useSWR<{ items: Plan[] }, ApiError>('gateway/subscription/plans?includeArchived=true', fetcher);
  const flags = useSWR<{ items: Flag[] }, ApiError>('gateway/subscription/flags', fetcher);
  const tenants = useSWR<{ total: number }, ApiError>('gateway/admin/tenants?status=active&limit=1', fetcher);
  return (
    <div className="space-y-6">
      <PageHeader title="Plans & feature flags" />
      <Card title="Plans">
        <ErrorNote error={plans.error} />
        <Table label="Plans" head={['Plan', 'Price', 'Trial', 'Limits', 'Features', 'State']}>
          {plans.data?.items.map((plan) => (
            <tr key={plan.code}>
              <th scope="row" className="px-3 py-2 font-medium">
                {plan.name}{' '}
                <span className="font-mono text-xs">
                  ({plan.code} v{plan.latest.version})
                </span>
              </th>
              <td className="px-3 py-2 tabular-nums">
                {money(plan.latest.amountMinor, plan.latest.currency)} / {plan.latest.interval}
              </td>
              <td className="px-3 py-2">{plan.latest.trialDays ? `${plan.latest.trialDays} days` : '—'}</td>
              <td className="px-3 py-2 font-mono text-xs">
                {Object.entries(plan.latest.limits ?? {})
                  .map(([name, value]) => `${name}: ${value ?? '∞'}`)
                  .join(', ') || '—'}
              </td>
              <td className="px-3 py-2 text-xs">{plan.latest.features?.join(', ') || '—'}</td>
              <td className="px-3 py-2">
                {plan.archivedAt ? (
                  <Badge tone="gray">archived</Badge>
                ) : (
                  <Badge tone={plan.public ? 'green' : 'blue'}>{plan.public ? 'public' : 'private'}</Badge>
                )}
              </td>
            </tr>
          ))}
        </Table>
      </Card>
      <Card title="Feature flags">
        <ErrorNote error={flags.error} />
        {flags.data?.items.length === 0 && <p className="text-sm">No flags yet.</p>}
        <ul className="divide-y divide-gray-100 dark:divide-gray-800">
          {flags.data?.items.map((flag) => (
            <FlagRow key={`${flag.key}-${flag.version}`} flag={flag} tenants={tenants.data?.total ?? 0} onSaved={() => void flags.mutate()} />
          ))}
        </ul>
      </Card>
    </div>
  );
}

/** A flag's switch and rollout: the slider shows the share of active tenants it would reach before saving. */
function FlagRow({ flag, tenants, onSaved }: { flag: Flag; tenants: number; onSaved: () => void }) {
  const can = useCan();
  const [enabled, setEnabled] = useState(flag.enabled);
  const [percentage, setPercentage] = useState(flag.rollout?.percentage ?? 100);
  const action = useAction();
  const changed = enabled !== flag.enabled || percentage !== (flag.rollout?.percentage ?? 100);
  const save = (event: FormEvent) => {
    event.preventDefault();
    void action.run('save', async () => {
      await gw(`subscription/flags/${encodeURIComponent(flag.key)}`, {
        method: 'PATCH',
        body: { enabled, rollout: { percentage, stickiness: flag.rollout?.stickiness ?? 'tenant' } },
      });
      onSaved();
    });
  };
  const sliderId = `rollout-${flag.key}`;
  return (
    <li className="py-3">
      <form onSubmit={save} className="flex flex-wrap items-center gap-4">
        <div className="min-w-48 flex-1">
          <p className="font-mono font-medium">{flag.key}</p>
          {flag.description && <p className="text-sm text-gray-600 dark:text-gray-400">{flag.description}</p>}
        </div>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={enabled} disabled={!can('plans:manage')} onChange={(event) => setEnabled(event.target.checked)} />
          Enabled
        </label>
        <div className="text-sm">
          <label htmlFor={sliderId} className="block">
            Rollout
          </label>
          <input
            id={sliderId}
            type="range"
            min={0}
            max={100}
            step={1}
            value={percentage}
            disabled={!can('plans:manage')}
            aria-valuetext={rolloutShare(percentage, tenants)}
            onChange={(event) => setPercentage(Number(event.target.value))}
          />
          <output htmlFor={sliderId} className="block tabular-nums">
            {rolloutShare(percentage, tenants)}
          </output>
        </div>
        {can('plans:manage') && (
          <Button type="submit" variant="secondary" disabled={!changed} busy={action.busy === 'save'}>
            Save
          </Button>
        )}
      </form>
      <ErrorNote error={action.error} />
    </li>
  );
}
