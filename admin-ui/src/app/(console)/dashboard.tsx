'use client';

import { CircleAlert, ShieldCheck, ShieldX } from 'lucide-react';
import { useState } from 'react';
import useSWR from 'swr';
import { Badge, Card, PageHeader, StatusBadge, Table } from '@/components/ui';
import { type ApiError, fetcher } from '@/lib/api';
import { ago, percent } from '@/lib/format';
import { freshness } from '@/lib/freshness';
import { useCan } from '@/lib/session-context';
import { TENANT_STATUSES, type AuditVerification, type DashboardSnapshot, type Traffic } from '@/lib/types';
import { useNow } from '@/lib/use-now';

const REFRESH_MS = 5_000;

const STALE_MESSAGE = {
  unreachable: 'The gateway is unreachable.',
  failing: 'The last refresh failed.',
  late: 'The last refresh is overdue.',
};

export function Dashboard() {
  const can = useCan();
  const now = useNow();
  const [receivedAt, setReceivedAt] = useState<number | null>(null);
  const { data, error } = useSWR<DashboardSnapshot, ApiError>('dashboard', fetcher, {
    refreshInterval: REFRESH_MS,
    refreshWhenHidden: false,
    // The last good numbers stay on screen under the banner; they are never passed off as new.
    keepPreviousData: true,
    onSuccess: () => setReceivedAt(Date.now()),
  });
  const audit = useSWR<AuditVerification, ApiError>(can('audit:read') ? 'gateway/admin/audit-log/verify' : null, fetcher, { refreshInterval: 60_000 });
  const state = freshness(receivedAt, now, REFRESH_MS, error ?? null);

  return (
    <div className="space-y-6">
      <PageHeader title="Dashboard">
        <p className="text-sm text-gray-600 dark:text-gray-400" aria-live="polite" data-testid="updated">
          {receivedAt === null ? 'loading…' : `updated ${ago(receivedAt, now)}`}
        </p>
      </PageHeader>
      {state.stale && (
        <div
          role="alert"
          className="flex items-center gap-2 rounded-md bg-amber-100 p-3 text-sm text-amber-950 dark:bg-amber-950 dark:text-amber-100"
          data-testid="stale-banner"
        >
          <CircleAlert aria-hidden className="size-5" />
          <span>
            {state.reason ? STALE_MESSAGE[state.reason] : ''} {receivedAt === null ? 'No data yet.' : `Everything below is from ${ago(receivedAt, now)}.`}{' '}
            Retrying every {REFRESH_MS / 1000} s.
          </span>
        </div>
      )}

      <Card title="Services">
        <Table label="Services" head={['Service', 'Status', 'Latency', 'Breaker', 'Uptime 24 h', '5xx, last hour', 'Checked']}>
          {data?.services.map((service) => (
            <tr key={service.name} data-testid={`service-${service.name}`}>
              <th scope="row" className="px-3 py-2 font-medium">
                {service.name}
              </th>
              <td className="px-3 py-2" data-testid={`service-${service.name}-status`}>
                <StatusBadge status={service.status} />
              </td>
              <td className="px-3 py-2 tabular-nums">{service.latencyMs === null ? '—' : `${service.latencyMs} ms`}</td>
              <td className="px-3 py-2">{service.breaker ? <StatusBadge status={service.breaker} /> : '—'}</td>
              <td className="px-3 py-2 tabular-nums">{percent(service.uptime24hPercent)}</td>
              <td className="px-3 py-2 tabular-nums" data-testid={`service-${service.name}-errors`}>
                {serviceErrors(data.traffic, service.name)}
              </td>
              <td className="px-3 py-2 text-gray-600 dark:text-gray-400">{service.lastCheckedAt ? ago(service.lastCheckedAt, now) : 'never'}</td>
            </tr>
          ))}
        </Table>
      </Card>

      {data && <TrafficCard traffic={data.traffic} />}

      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="Tenants by status">
          <dl className="grid grid-cols-3 gap-4">
            {TENANT_STATUSES.map((status) => (
              <div key={status}>
                <dt className="text-xs uppercase text-gray-600 dark:text-gray-400">{status}</dt>
                <dd className="text-2xl font-semibold tabular-nums" data-testid={`tenants-${status}`}>
                  {data ? data.tenantsByStatus[status] : '—'}
                </dd>
              </div>
            ))}
          </dl>
        </Card>
        {can('audit:read') && (
          <Card title="Audit chain">
            {audit.data ? (
              <div className="flex items-center gap-3">
                {audit.data.valid ? <ShieldCheck aria-hidden className="size-8 text-green-700" /> : <ShieldX aria-hidden className="size-8 text-red-700" />}
                <div className="text-sm">
                  <Badge tone={audit.data.valid ? 'green' : 'red'}>{audit.data.valid ? 'intact' : 'broken'}</Badge>
                  <p className="mt-1">
                    {audit.data.rows.toLocaleString('en-US')} entries, {audit.data.checkpoints.verified} of {audit.data.checkpoints.total} signed checkpoints
                    verified
                    {audit.data.firstBreak && ` — first break at #${audit.data.firstBreak.seq} (${audit.data.firstBreak.problem})`}
                  </p>
                </div>
              </div>
            ) : (
              <p className="text-sm text-gray-600 dark:text-gray-400">{audit.error ? audit.error.message : 'verifying…'}</p>
            )}
          </Card>
        )}
      </div>
      {data && (
        <details className="text-xs text-gray-600 dark:text-gray-400">
          <summary>Where these numbers come from</summary>
          <ul className="mt-1 font-mono">
            {data.sources.map((source) => (
              <li key={source}>{source}</li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

/** A backend service's 5xx share through the gateway over the last hour; the gateway's row is the whole. */
function serviceErrors(traffic: Traffic, name: string): string {
  if (name === 'gateway') return traffic.requests ? percent(traffic.serverErrorPercent) : '—';
  const row = traffic.services.find((service) => service.service === name);
  return row?.requests ? `${percent(row.serverErrorPercent)} of ${row.requests.toLocaleString('en-US')}` : '—';
}

/** Requests per minute over the last hour as bars (plain elements: no chart library on the dashboard's first load). */
function TrafficCard({ traffic }: { traffic: Traffic }) {
  const peak = Math.max(1, ...traffic.items.map((minute) => minute.requests));
  return (
    <Card title="Requests through the gateway">
      <dl className="mb-3 grid grid-cols-3 gap-4">
        <div>
          <dt className="text-xs uppercase text-gray-600 dark:text-gray-400">Last minute</dt>
          <dd className="text-2xl font-semibold tabular-nums" data-testid="requests-per-minute">
            {traffic.lastMinuteRequests.toLocaleString('en-US')}
          </dd>
        </div>
        <div>
          <dt className="text-xs uppercase text-gray-600 dark:text-gray-400">5xx, last hour</dt>
          <dd className="text-2xl font-semibold tabular-nums">{percent(traffic.serverErrorPercent)}</dd>
        </div>
        <div>
          <dt className="text-xs uppercase text-gray-600 dark:text-gray-400">4xx, last hour</dt>
          <dd className="text-2xl font-semibold tabular-nums">{percent(traffic.clientErrorPercent)}</dd>
        </div>
      </dl>
      <div className="flex h-16 items-end gap-px" aria-hidden>
        {traffic.items.map((minute) => (
          <div
            key={minute.minute}
            title={`${minute.minute.slice(11, 16)} UTC: ${minute.requests} requests, ${minute.serverErrors} 5xx`}
            className={`flex-1 ${minute.serverErrors ? 'bg-red-600' : 'bg-indigo-500'}`}
            style={{ height: `${Math.max((minute.requests / peak) * 100, minute.requests ? 4 : 1)}%` }}
          />
        ))}
      </div>
      <p className="sr-only">
        {traffic.requests.toLocaleString('en-US')} requests in the last hour, {traffic.lastMinuteRequests} in the last minute.
      </p>
    </Card>
  );
}
