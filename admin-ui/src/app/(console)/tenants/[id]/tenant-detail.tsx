'use client';

import { Download, KeyRound, Pause, Play, RotateCw, Trash2 } from 'lucide-react';
import { type FormEvent, useState } from 'react';
import useSWR from 'swr';
import { ShownOnce } from '@/components/copy-button';
import { SeriesChart } from '@/components/usage-chart';
import { Button, Card, ErrorNote, Field, FormActions, Modal, Outcome, PageHeader, SelectField, StatusBadge, Table } from '@/components/ui';
import { type ApiError, fetcher, gw } from '@/lib/api';
import { BASE_PATH } from '@/lib/base-path';
import { dateTime } from '@/lib/format';
import { useCan } from '@/lib/session-context';
import type { ApiKey, Tenant } from '@/lib/types';
import { useAction } from '@/lib/use-action';

interface Plan {
  code: string;
  name: string;
  archivedAt: string | null;
}
interface Usage {
  metrics: Array<{ code: string; name: string; total: number; series: Array<{ start: string; value: number }> }>;
}

export function TenantDetail({ id }: { id: string }) {
  const can = useCan();
  const tenant = useSWR<Tenant, ApiError>(`gateway/admin/tenants/${id}`, fetcher);
  const keys = useSWR<{ items: ApiKey[] }, ApiError>(`gateway/admin/tenants/${id}/api-keys`, fetcher);
  const plans = useSWR<{ items: Plan[] }, ApiError>(can('plans:read') ? 'gateway/subscription/plans' : null, fetcher);
  const monthAgo = new Date(Math.floor(Date.now() / 86_400_000 - 30) * 86_400_000).toISOString();
  const usage = useSWR<Usage, ApiError>(can('revenue:read') ? `gateway/billing/tenants/${id}/usage?granularity=day&from=${monthAgo}` : null, fetcher);
  const action = useAction();
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  const [deleting, setDeleting] = useState(false);

  if (tenant.error) return <ErrorNote error={tenant.error} />;
  if (!tenant.data) return <p>Loading…</p>;
  const t = tenant.data;
  const write = can('tenants:write');
  const refresh = () => Promise.all([tenant.mutate(), keys.mutate()]);
  const lifecycle = (verb: 'suspend' | 'resume' | 'restore') =>
    action.run(verb, async () => tenant.mutate(await gw<Tenant>(`admin/tenants/${id}/${verb}`, { method: 'POST' })));

  return (
    <div className="space-y-6">
      <PageHeader title={t.name}>
        <StatusBadge status={t.status} />
        {write && t.status === 'active' && (
          <Button variant="secondary" busy={action.busy === 'suspend'} onClick={() => lifecycle('suspend')}>
            <Pause aria-hidden className="size-4" /> Suspend
          </Button>
        )}
        {write && t.status === 'suspended' && (
          <Button variant="secondary" busy={action.busy === 'resume'} onClick={() => lifecycle('resume')}>
            <Play aria-hidden className="size-4" /> Resume
          </Button>
        )}
        {write && t.status === 'deleted' && (
          <Button variant="secondary" busy={action.busy === 'restore'} onClick={() => lifecycle('restore')}>
            Restore
          </Button>
        )}
        {write && ['active', 'suspended'].includes(t.status) && (
          <a
            className="inline-flex items-center gap-1.5 rounded-md px-3 py-1.5 text-sm text-indigo-700 underline dark:text-indigo-300"
            href={`${BASE_PATH}/api/gateway/admin/tenants/${id}/export`}
            download
          >
            <Download aria-hidden className="size-4" /> Export
          </a>
        )}
        {write && ['active', 'suspended'].includes(t.status) && (
          <Button variant="danger" onClick={() => setDeleting(true)}>
            <Trash2 aria-hidden className="size-4" /> Delete
          </Button>
        )}
      </PageHeader>
      <ErrorNote error={action.error} />
      {secret && <ShownOnce label={secret.label} value={secret.value} />}

      <Card title="Details">
        <dl className="grid grid-cols-1 gap-3 text-sm sm:grid-cols-2 lg:grid-cols-3">
          {(
            [
              ['Slug', t.slug],
              ['Plan', t.plan ?? '—'],
              ['Database', `${t.dbName} on ${t.dbServer ?? 'default'}`],
              ['Suspended for', t.suspendedFor ?? '—'],
              ['Created', dateTime(t.createdAt)],
              ['Purge after', dateTime(t.purgeAfter)],
            ] as const
          ).map(([label, value]) => (
            <div key={label}>
              <dt className="text-gray-600 dark:text-gray-400">{label}</dt>
              <dd className="font-medium break-all" data-testid={`tenant-${label.toLowerCase().replaceAll(' ', '-')}`}>
                {value}
              </dd>
            </div>
          ))}
        </dl>
        {can('plans:manage') && plans.data && <ChangePlan tenant={t} plans={plans.data.items} onChanged={() => void tenant.mutate()} />}
        {write && ['active', 'suspended'].includes(t.status) && <MoveTenant tenant={t} onMoved={() => void tenant.mutate()} />}
      </Card>

      <Card
        title="API keys"
        actions={
          write && (
            <Button
              variant="secondary"
              busy={action.busy === 'issue'}
              onClick={() =>
                action.run('issue', async () => {
                  const issued = await gw<ApiKey>(`admin/tenants/${id}/api-keys`, { method: 'POST', body: { name: 'console' } });
                  setSecret({ label: `API key ${issued.prefix}`, value: issued.key! });
                  await keys.mutate();
                })
              }
            >
              <KeyRound aria-hidden className="size-4" /> Issue key
            </Button>
          )
        }
      >
        <Table label="API keys" head={['Name', 'Prefix', 'Created', 'Last used', 'Expires', 'State', ...(write ? ['Actions'] : [])]}>
          {keys.data?.items.map((key) => (
            <tr key={key.id}>
              <th scope="row" className="px-3 py-2 font-medium">
                {key.name}
              </th>
              <td className="px-3 py-2 font-mono">{key.prefix}…</td>
              <td className="px-3 py-2">{dateTime(key.createdAt)}</td>
              <td className="px-3 py-2">{dateTime(key.lastUsedAt)}</td>
              <td className="px-3 py-2">{dateTime(key.expiresAt)}</td>
              <td className="px-3 py-2">
                <StatusBadge status={key.revokedAt ? 'revoked' : key.expiresAt ? 'expiring' : 'active'} />
              </td>
              {write && (
                <td className="flex gap-2 px-3 py-2">
                  {!key.revokedAt && !key.replacedBy && (
                    <Button
                      variant="secondary"
                      aria-label={`Rotate key ${key.prefix}`}
                      busy={action.busy === `rotate-${key.id}`}
                      onClick={() =>
                        action.run(`rotate-${key.id}`, async () => {
                          // The old key keeps working for an hour, so apps can switch without a failed request.
                          const rotated = await gw<{ key: ApiKey }>(`admin/tenants/${id}/api-keys/${key.id}/rotate`, {
                            method: 'POST',
                            body: { overlapSeconds: 3600 },
                          });
                          setSecret({ label: `API key ${rotated.key.prefix} (the old one works for another hour)`, value: rotated.key.key! });
                          await keys.mutate();
                        })
                      }
                    >
                      <RotateCw aria-hidden className="size-4" /> Rotate
                    </Button>
                  )}
                  {!key.revokedAt && (
                    <Button
                      variant="secondary"
                      aria-label={`Revoke key ${key.prefix}`}
                      busy={action.busy === `revoke-${key.id}`}
                      onClick={() =>
                        action.run(`revoke-${key.id}`, async () => {
                          await gw(`admin/tenants/${id}/api-keys/${key.id}`, { method: 'DELETE' });
                          await keys.mutate();
                        })
                      }
                    >
                      Revoke
                    </Button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </Table>
      </Card>

      {usage.data && (
        <Card title="Usage, last 30 days">
          {usage.data.metrics.length === 0 && <p className="text-sm">No billable metrics are defined.</p>}
          {usage.data.metrics.map((metric) => (
            <div key={metric.code}>
              <h3 className="text-sm font-medium">
                {metric.name}: {metric.total.toLocaleString('en-US')}
              </h3>
              <SeriesChart label={metric.name} series={metric.series} />
            </div>
          ))}
        </Card>
      )}
      <DeleteTenant
        tenant={t}
        open={deleting}
        onClose={() => setDeleting(false)}
        onDeleted={() => {
          setDeleting(false);
          void refresh();
        }}
      />
    </div>
  );
}

function ChangePlan({ tenant, plans, onChanged }: { tenant: Tenant; plans: Plan[]; onChanged: () => void }) {
  const [plan, setPlan] = useState(tenant.plan ?? '');
  const action = useAction();
  const [result, setResult] = useState<string | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void action.run('plan', async () => {
      const change = await gw<{ kind: string; effectiveAt: string }>(`subscription/tenants/${tenant.id}/plan`, { method: 'POST', body: { plan } });
      setResult(`${change.kind}, effective ${dateTime(change.effectiveAt)}`);
      onChanged();
    });
  };
  return (
    <form onSubmit={submit} className="mt-4 flex flex-wrap items-end gap-2">
      <SelectField
        label="Plan"
        value={plan}
        onChange={setPlan}
        options={plans.filter((p) => !p.archivedAt || p.code === tenant.plan).map((p) => ({ value: p.code, label: `${p.name} (${p.code})` }))}
      />
      <Button type="submit" variant="secondary" busy={action.busy === 'plan'} disabled={!plan || plan === tenant.plan}>
        Change plan
      </Button>
      <Outcome result={result} error={action.error} />
    </form>
  );
}

interface DatabaseServer {
  name: string;
  host: string;
  port: number;
  status: 'active' | 'draining' | 'down';
  tenants: number;
  capacity: number;
}

/**
 * Moves the tenant's database to another registered server. The platform copies it while the tenant
 * serves, then pauses its writes for the final copy (503 with Retry-After meanwhile); the answer says
 * how many rows moved and how long writes paused.
 */
function MoveTenant({ tenant, onMoved }: { tenant: Tenant; onMoved: () => void }) {
  const servers = useSWR<{ items: DatabaseServer[] }, ApiError>('gateway/admin/database-servers', fetcher);
  const targets = (servers.data?.items ?? []).filter((server) => server.status === 'active' && server.name !== (tenant.dbServer ?? 'default'));
  const [target, setTarget] = useState('');
  const [result, setResult] = useState<string | null>(null);
  const action = useAction();
  if (targets.length === 0) return null;
  const chosen = target || targets[0]!.name;
  return (
    <form
      className="mt-4 flex flex-wrap items-end gap-2"
      onSubmit={(event) => {
        event.preventDefault();
        setResult(null);
        void action.run('move', async () => {
          const moved = await gw<{ rows: number; writePauseMs: number; to: string }>(`admin/tenants/${tenant.id}/move`, {
            method: 'POST',
            body: { server: chosen },
          });
          setResult(`Moved to ${moved.to}: ${moved.rows.toLocaleString('en-US')} rows, writes paused ${moved.writePauseMs} ms`);
          onMoved();
        });
      }}
    >
      <SelectField
        label="Database server"
        value={chosen}
        onChange={setTarget}
        options={targets.map((server) => ({
          value: server.name,
          label: `${server.name} (${server.host}:${server.port}, ${server.tenants}/${server.capacity})`,
        }))}
      />
      <Button type="submit" variant="secondary" busy={action.busy === 'move'}>
        Move database
      </Button>
      {action.busy === 'move' && (
        <p role="status" className="text-sm">
          Copying while the tenant serves; its writes pause for the last part…
        </p>
      )}
      <Outcome result={result} error={action.error} />
    </form>
  );
}

/** Deleting asks for the slug typed out: a tenant's data is at stake. */
function DeleteTenant({ tenant, open, onClose, onDeleted }: { tenant: Tenant; open: boolean; onClose: () => void; onDeleted: () => void }) {
  const [typed, setTyped] = useState('');
  const action = useAction();
  return (
    <Modal open={open} onClose={onClose} title={`Delete ${tenant.name}?`}>
      <form
        className="space-y-4"
        onSubmit={(event) => {
          event.preventDefault();
          void action.run('delete', async () => {
            await gw(`admin/tenants/${tenant.id}`, { method: 'DELETE' });
            onDeleted();
          });
        }}
      >
        <p className="text-sm">Its API keys stop working at once. Its data is kept until the grace period ends, and it can be restored until then.</p>
        <Field label={`Type ${tenant.slug} to confirm`} value={typed} onChange={(event) => setTyped(event.target.value)} autoComplete="off" />
        <ErrorNote error={action.error} />
        <FormActions submit="Delete tenant" onCancel={onClose} busy={action.busy === 'delete'} variant="danger" disabled={typed !== tenant.slug} />
      </form>
    </Modal>
  );
}
