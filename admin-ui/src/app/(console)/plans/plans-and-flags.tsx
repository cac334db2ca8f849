'use client';

import { type FormEvent, useState } from 'react';
import useSWR from 'swr';
import { Plus } from 'lucide-react';
import { Badge, Button, Card, ErrorNote, Field, FormActions, Modal, PageHeader, SelectField, Table } from '@/components/ui';
import { ApiError, fetcher, gw } from '@/lib/api';
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
  const can = useCan();
  const [creating, setCreating] = useState<'plan' | 'flag' | null>(null);
  return (
    <div className="space-y-6">
      <PageHeader title="Plans & feature flags">
        {can('plans:manage') && (
          <>
            <Button variant="secondary" onClick={() => setCreating('plan')}>
              <Plus aria-hidden className="size-4" /> New plan
            </Button>
            <Button variant="secondary" onClick={() => setCreating('flag')}>
              <Plus aria-hidden className="size-4" /> New flag
            </Button>
          </>
        )}
      </PageHeader>
      <NewPlan open={creating === 'plan'} onClose={() => setCreating(null)} onCreated={() => void plans.mutate()} />
      <NewFlag open={creating === 'flag'} onClose={() => setCreating(null)} onCreated={() => void flags.mutate()} />
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

const LIMITS = [
  ['requestsPerMinute', 'Requests per minute'],
  ['apiCallsPerMonth', 'API calls per period'],
  ['maxUsers', 'Users'],
  ['maxClients', 'Clients'],
  ['storageBytes', 'Storage (bytes)'],
] as const;

/** A plan's first version. Prices are typed in the currency's units and sent in minor units; a blank limit is unlimited. */
function NewPlan({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: () => void }) {
  const [form, setForm] = useState({ code: '', name: '', price: '0', currency: 'USD', interval: 'month', trialDays: '0', features: '' });
  const [limits, setLimits] = useState<Record<string, string>>({});
  const action = useAction();
  const fields = action.error?.fieldErrors() ?? {};
  const set = (name: keyof typeof form) => (event: { target: { value: string } }) => setForm({ ...form, [name]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void action.run('create', async () => {
      const price = Number(form.price);
      if (!Number.isFinite(price) || price < 0)
        throw new ApiError(400, 'VALIDATION_FAILED', 'Check the price', [{ path: 'price', message: 'must be a number, 0 or more' }]);
      await gw('subscription/plans', {
        method: 'POST',
        body: {
          code: form.code,
          name: form.name,
          amountMinor: Math.round(price * 100),
          currency: form.currency.toUpperCase(),
          interval: form.interval,
          trialDays: Number(form.trialDays),
          limits: Object.fromEntries(LIMITS.map(([name]) => [name, limits[name]?.trim() ? Number(limits[name]) : null])),
          features: form.features
            .split(',')
            .map((feature) => feature.trim())
            .filter(Boolean),
        },
      });
      onCreated();
      onClose();
    });
  };
  return (
    <Modal open={open} onClose={onClose} title="New plan">
      <form onSubmit={submit} className="grid grid-cols-2 gap-3">
        <Field label="Code" required value={form.code} error={fields.code} onChange={set('code')} hint="e.g. growth" />
        <Field label="Name" required value={form.name} error={fields.name} onChange={set('name')} />
        <Field label="Price per interval" inputMode="decimal" value={form.price} error={fields.price ?? fields.amountMinor} onChange={set('price')} />
        <Field label="Currency" value={form.currency} error={fields.currency} onChange={set('currency')} />
        <SelectField
          label="Interval"
          value={form.interval}
          onChange={(interval) => setForm({ ...form, interval })}
          options={[{ value: 'month' }, { value: 'year' }]}
        />
        <Field label="Trial days" type="number" value={form.trialDays} error={fields.trialDays} onChange={set('trialDays')} />
        {LIMITS.map(([name, label]) => (
          <Field
            key={name}
            label={label}
            type="number"
            placeholder="unlimited"
            value={limits[name] ?? ''}
            error={fields[`limits.${name}`]}
            onChange={(event) => setLimits({ ...limits, [name]: event.target.value })}
          />
        ))}
        <div className="col-span-2">
          <Field
            label="Features"
            value={form.features}
            error={fields.features}
            onChange={set('features')}
            hint="comma-separated, e.g. crm.pipelines, exports"
          />
        </div>
        <div className="col-span-2">
          <ErrorNote error={action.error && Object.keys(fields).length === 0 ? action.error : null} />
        </div>
        <FormActions submit="Create plan" onCancel={onClose} busy={action.busy === 'create'} className="col-span-2" />
      </form>
    </Modal>
  );
}

function NewFlag({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: () => void }) {
  const [key, setKey] = useState('');
  const [description, setDescription] = useState('');
  const action = useAction();
  const fields = action.error?.fieldErrors() ?? {};
  return (
    <Modal open={open} onClose={onClose} title="New feature flag">
      <form
        className="space-y-3"
        onSubmit={(event) => {
          event.preventDefault();
          void action.run('create', async () => {
            // New flags start at 0% rollout: on for no tenant until the slider says otherwise.
            await gw('subscription/flags', { method: 'POST', body: { key, description, rollout: { percentage: 0, stickiness: 'tenant' } } });
            onCreated();
            onClose();
          });
        }}
      >
        <Field label="Key" required value={key} error={fields.key} onChange={(event) => setKey(event.target.value)} hint="e.g. crm.ai-summaries" />
        <Field label="Description" value={description} error={fields.description} onChange={(event) => setDescription(event.target.value)} />
        <ErrorNote error={action.error && Object.keys(fields).length === 0 ? action.error : null} />
        <FormActions submit="Create flag" onCancel={onClose} busy={action.busy === 'create'} />
      </form>
    </Modal>
  );
}
