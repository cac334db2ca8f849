'use client';

import Link from 'next/link';
import { type FormEvent, useState } from 'react';
import { Button, Empty, ErrorNote, Field, PageTitle } from '@/components/ui';
import { api } from '@/lib/api';
import { fieldErrorsOf } from '@/lib/forms';
import useSWR from 'swr';

const PAGE_SIZE = 20;

export default function ClientsPage() {
  const [q, setQ] = useState('');
  // The cursors of the pages before this one, so "Previous" needs no offset.
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const cursor = cursors.at(-1);
  const page = useSWR(['clients', q, cursor], () =>
    api().get('/api/v1/client/clients', { params: { query: { q: q || undefined, cursor, limit: PAGE_SIZE, sort: 'name' } } }),
  );
  const [createError, setCreateError] = useState<unknown>();
  const fields = fieldErrorsOf(createError);

  function search(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setQ(String(new FormData(event.currentTarget).get('q') ?? '').trim());
    setCursors([undefined]);
  }

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    setCreateError(undefined);
    try {
      await api().post('/api/v1/client/clients', { body: { name: String(data.get('name')), email: String(data.get('email') ?? '') || null } });
      form.reset();
      await page.mutate();
    } catch (caught) {
      setCreateError(caught);
    }
  }

  return (
    <section>
      <PageTitle>Clients</PageTitle>
      <div className="mb-6 grid gap-6 md:grid-cols-2">
        <search>
          <form onSubmit={search} className="flex items-end gap-2">
            <Field id="q" name="q" type="search" label="Search clients" placeholder="Name or email" />
            <Button type="submit" variant="secondary">
              Search
            </Button>
          </form>
        </search>
        <form onSubmit={create} aria-label="New client" className="flex flex-wrap items-end gap-2">
          <Field id="client-name" name="name" label="New client's name" required error={fields.name} />
          <Field id="client-email" name="email" type="email" label="Email (optional)" error={fields.email} />
          <Button type="submit">Add client</Button>
          <div className="basis-full">
            <ErrorNote error={Object.keys(fields).length ? undefined : createError} />
          </div>
        </form>
      </div>
      <ErrorNote error={page.error} />
      {page.data && page.data.items.length === 0 ? <Empty>{q ? `No client matches “${q}”.` : 'No clients yet: add the first one above.'}</Empty> : null}
      {page.data && page.data.items.length > 0 ? (
        <table className="w-full text-left text-sm">
          <thead className="border-b border-gray-200 dark:border-gray-800">
            <tr>
              <th className="py-2">Name</th>
              <th>Email</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {page.data.items.map((client) => (
              <tr key={client.id} className="border-b border-gray-100 dark:border-gray-900">
                <td className="py-2">
                  <Link href={`/clients/${client.id}`} className="text-indigo-700 underline dark:text-indigo-300">
                    {client.name}
                  </Link>
                </td>
                <td>{client.email ?? '—'}</td>
                <td>{client.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <div className="mt-4 flex gap-2">
        <Button variant="secondary" disabled={cursors.length < 2} onClick={() => setCursors((list) => list.slice(0, -1))}>
          Previous
        </Button>
        <Button variant="secondary" disabled={!page.data?.nextCursor} onClick={() => setCursors((list) => [...list, page.data?.nextCursor ?? undefined])}>
          Next
        </Button>
      </div>
    </section>
  );
}
