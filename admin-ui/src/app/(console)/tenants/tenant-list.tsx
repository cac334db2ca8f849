'use client';

import { Plus, Search } from 'lucide-react';
import Link from 'next/link';
import { type FormEvent, useDeferredValue, useState } from 'react';
import useSWR from 'swr';
import { ShownOnce } from '@/components/copy-button';
import { Button, ErrorNote, Field, FormActions, Modal, PageHeader, SelectField, StatusBadge, Table } from '@/components/ui';
import { ApiError, fetcher, gw } from '@/lib/api';
import { dateTime, slugify } from '@/lib/format';
import { useCan } from '@/lib/session-context';
import { TENANT_STATUSES, type ApiKey, type Tenant } from '@/lib/types';

const PAGE_SIZE = 20;

export function TenantList() {
  const can = useCan();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const [offset, setOffset] = useState(0);
  const [creating, setCreating] = useState(false);
  const query = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset) });
  const deferredSearch = useDeferredValue(search.trim());
  if (deferredSearch) query.set('q', deferredSearch);
  if (status) query.set('status', status);
  const { data, error, mutate } = useSWR<{ items: Tenant[]; total: number }, ApiError>(`gateway/admin/tenants?${query}`, fetcher, { keepPreviousData: true });

  return (
    <div className="space-y-4">
      <PageHeader title="Tenants">
        {can('tenants:write') && (
          <Button onClick={() => setCreating(true)}>
            <Plus aria-hidden className="size-4" /> New tenant
          </Button>
        )}
      </PageHeader>
      <div className="flex flex-wrap items-end gap-3">
        <div className="relative">
          <label htmlFor="tenant-search" className="block text-sm font-medium">
            Search
          </label>
          <Search aria-hidden className="pointer-events-none absolute bottom-2 left-2 size-4 text-gray-500" />
          <input
            id="tenant-search"
            type="search"
            placeholder="slug or name"
            value={search}
            onChange={(event) => {
              setSearch(event.target.value);
              setOffset(0);
            }}
            className="rounded-md border border-gray-300 bg-white py-1.5 pr-3 pl-8 text-sm dark:border-gray-600 dark:bg-gray-900"
          />
        </div>
        <SelectField
          label="Status"
          value={status}
          options={[{ value: '', label: 'any' }, ...TENANT_STATUSES.map((value) => ({ value }))]}
          onChange={(value) => {
            setStatus(value);
            setOffset(0);
          }}
        />
      </div>
      <ErrorNote error={error} />
      <Table label="Tenants" head={['Name', 'Slug', 'Status', 'Plan', 'Database server', 'Created']}>
        {data?.items.map((tenant) => (
          <tr key={tenant.id}>
            <th scope="row" className="px-3 py-2 font-medium">
              <Link className="text-indigo-700 underline dark:text-indigo-300" href={`/tenants/${tenant.id}`}>
                {tenant.name}
              </Link>
            </th>
            <td className="px-3 py-2 font-mono">{tenant.slug}</td>
            <td className="px-3 py-2">
              <StatusBadge status={tenant.status} />
            </td>
            <td className="px-3 py-2">{tenant.plan ?? '—'}</td>
            <td className="px-3 py-2">{tenant.dbServer ?? 'default'}</td>
            <td className="px-3 py-2">{dateTime(tenant.createdAt)}</td>
          </tr>
        ))}
      </Table>
      {data && data.items.length === 0 && <p className="text-sm text-gray-600 dark:text-gray-400">No tenants match.</p>}
      {data && (
        <nav aria-label="Pages" className="flex items-center gap-3 text-sm">
          <Button variant="secondary" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
            Previous
          </Button>
          <span>
            {data.total === 0 ? 0 : offset + 1}–{Math.min(offset + PAGE_SIZE, data.total)} of {data.total}
          </span>
          <Button variant="secondary" disabled={offset + PAGE_SIZE >= data.total} onClick={() => setOffset(offset + PAGE_SIZE)}>
            Next
          </Button>
        </nav>
      )}
      <CreateTenant open={creating} onClose={() => setCreating(false)} onCreated={() => void mutate()} />
    </div>
  );
}

function CreateTenant({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugEdited, setSlugEdited] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ tenant: Tenant; apiKey: ApiKey } | null>(null);

  const close = () => {
    // What was typed stays until a tenant is made: a failed or abandoned attempt loses nothing.
    if (created) {
      setName('');
      setSlug('');
      setSlugEdited(false);
      setCreated(null);
    }
    setError(null);
    onClose();
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setCreated(await gw<{ tenant: Tenant; apiKey: ApiKey }>('admin/tenants', { method: 'POST', body: { name, slug } }));
      onCreated();
    } catch (err) {
      if (err instanceof ApiError) setError(err);
      else throw err;
    } finally {
      setBusy(false);
    }
  };
  const fields = error?.fieldErrors() ?? {};

  return (
    <Modal open={open} onClose={close} title={created ? `Tenant ${created.tenant.slug} created` : 'New tenant'}>
      {created ? (
        <div className="space-y-4">
          <ShownOnce label="API key" value={created.apiKey.key!} />
          <div className="flex justify-end gap-2">
            <Link className="rounded-md px-3 py-1.5 text-sm text-indigo-700 underline dark:text-indigo-300" href={`/tenants/${created.tenant.id}`}>
              Open tenant
            </Link>
            <Button onClick={close}>Done</Button>
          </div>
        </div>
      ) : (
        <form className="space-y-4" onSubmit={submit}>
          <Field
            label="Name"
            name="name"
            required
            autoFocus
            value={name}
            error={fields.name}
            onChange={(event) => {
              setName(event.target.value);
              if (!slugEdited) setSlug(slugify(event.target.value));
            }}
          />
          <Field
            label="Slug"
            name="slug"
            required
            value={slug}
            error={fields.slug}
            hint="Lower-case letters, digits and dashes; part of the tenant's database name"
            onChange={(event) => {
              setSlug(event.target.value);
              setSlugEdited(true);
            }}
          />
          <ErrorNote error={error && Object.keys(fields).length === 0 ? error : null} />
          <FormActions submit="Create tenant" onCancel={close} busy={busy} />
        </form>
      )}
    </Modal>
  );
}
