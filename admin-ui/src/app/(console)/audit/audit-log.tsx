'use client';

import { Download, ShieldCheck } from 'lucide-react';
import { type FormEvent, useState } from 'react';
import useSWRInfinite from 'swr/infinite';
import { Badge, Button, Card, ErrorNote, Field, PageHeader, Table } from '@/components/ui';
import { type ApiError, fetcher, gw } from '@/lib/api';
import { BASE_PATH } from '@/lib/base-path';
import { dateTime } from '@/lib/format';
import type { AuditEntry, AuditVerification } from '@/lib/types';
import { useAction } from '@/lib/use-action';

const FILTERS = ['action', 'actorType', 'actor', 'tenantId', 'from', 'to'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;
interface Page {
  items: AuditEntry[];
  nextCursor: string | null;
}

function filterQuery(filters: Filters): URLSearchParams {
  const query = new URLSearchParams();
  for (const name of FILTERS) {
    const value = filters[name]?.trim();
    if (value) query.set(name, value);
  }
  return query;
}

export function AuditLog() {
  const [draft, setDraft] = useState<Filters>({});
  const [filters, setFilters] = useState<Filters>({});
  const base = filterQuery(filters);
  const pages = useSWRInfinite<Page, ApiError>(
    (_index, previous: Page | null) => {
      if (previous && !previous.nextCursor) return null;
      const query = new URLSearchParams(base);
      query.set('limit', '50');
      if (previous?.nextCursor) query.set('cursor', previous.nextCursor);
      return `gateway/admin/audit-log?${query}`;
    },
    fetcher,
    { revalidateFirstPage: false },
  );
  const verify = useAction();
  const [verification, setVerification] = useState<AuditVerification | null>(null);
  const entries = pages.data?.flatMap((page) => page.items) ?? [];
  const more = pages.data?.at(-1)?.nextCursor;
  const fields = pages.error?.fieldErrors() ?? {};

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
  };
  const input = (name: (typeof FILTERS)[number], label: string, hint?: string) => (
    <Field
      label={label}
      name={name}
      hint={hint}
      value={draft[name] ?? ''}
      error={fields[name]}
      onChange={(event) => setDraft({ ...draft, [name]: event.target.value })}
    />
  );

  return (
    <div className="space-y-4">
      <PageHeader title="Audit log">
        <Button
          variant="secondary"
          busy={verify.busy === 'verify'}
          onClick={() => verify.run('verify', async () => setVerification(await gw<AuditVerification>('admin/audit-log/verify')))}
        >
          <ShieldCheck aria-hidden className="size-4" /> Verify chain
        </Button>
        <a
          className="inline-flex items-center gap-1.5 px-3 py-1.5 text-sm text-indigo-700 underline dark:text-indigo-300"
          href={`${BASE_PATH}/api/gateway/admin/audit-log/export?${new URLSearchParams([...base, ['format', 'csv']])}`}
          download
        >
          <Download aria-hidden className="size-4" /> Export CSV
        </a>
      </PageHeader>
      <ErrorNote error={verify.error} />
      {verification && (
        <div role="status" data-testid="verify-result" className="text-sm">
          <Badge tone={verification.valid ? 'green' : 'red'}>{verification.valid ? 'Chain intact' : 'Chain broken'}</Badge>{' '}
          {verification.rows.toLocaleString('en-US')} entries checked up to #{verification.head}; {verification.checkpoints.verified} of{' '}
          {verification.checkpoints.total} signed checkpoints verified.
          {verification.firstBreak && ` First break at #${verification.firstBreak.seq}: ${verification.firstBreak.problem} — ${verification.firstBreak.detail}`}
        </div>
      )}
      <Card>
        <form onSubmit={apply} className="grid grid-cols-1 gap-3 sm:grid-cols-3 lg:grid-cols-6" aria-label="Filters">
          {input('action', 'Action', 'e.g. tenant.suspended')}
          {input('actorType', 'Actor type', 'admin, user, service, system')}
          {input('actor', 'Actor id')}
          {input('tenantId', 'Tenant id')}
          {input('from', 'From', 'ISO time')}
          {input('to', 'To', 'ISO time')}
          <div className="flex gap-2 sm:col-span-3 lg:col-span-6">
            <Button type="submit">Apply filters</Button>
            <Button
              variant="secondary"
              onClick={() => {
                setDraft({});
                setFilters({});
              }}
            >
              Clear
            </Button>
          </div>
        </form>
      </Card>
      {pages.error && Object.keys(fields).length === 0 && <ErrorNote error={pages.error} />}
      <Table label="Audit entries" head={['#', 'When', 'Action', 'Actor', 'Target', 'Tenant', 'Request']}>
        {entries.map((entry) => (
          <tr key={entry.seq}>
            <td className="px-3 py-2 tabular-nums">{entry.seq}</td>
            <td className="px-3 py-2 whitespace-nowrap">{dateTime(entry.occurredAt)}</td>
            <td className="px-3 py-2 font-mono">{entry.action}</td>
            <td className="px-3 py-2">
              {entry.actorType}
              {entry.actorId && <span className="block font-mono text-xs">{entry.actorId}</span>}
            </td>
            <td className="px-3 py-2">
              {entry.targetType ?? '—'}
              {entry.targetId && <span className="block font-mono text-xs">{entry.targetId}</span>}
            </td>
            <td className="px-3 py-2 font-mono text-xs">{entry.tenantId ?? '—'}</td>
            <td className="px-3 py-2 font-mono text-xs">{entry.requestId ?? '—'}</td>
          </tr>
        ))}
      </Table>
      {pages.data && entries.length === 0 && <p className="text-sm text-gray-600 dark:text-gray-400">No entries match.</p>}
      {more && (
        <Button variant="secondary" busy={pages.isValidating} onClick={() => void pages.setSize(pages.size + 1)}>
          Load older entries
        </Button>
      )}
    </div>
  );
}
