'use client';

import { isCodexApiError } from '@codex-metatron/sdk';
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { type FormEvent, useState } from 'react';
import { Button, ErrorNote, Field, PageTitle } from '@/components/ui';
import { api } from '@/lib/api';
import { fieldErrorsOf } from '@/lib/forms';
import useSWR from 'swr';

export default function ClientPage() {
  const { id } = useParams<{ id: string }>();
  const client = useSWR(['client', id], () => api().get('/api/v1/client/clients/{id}', { params: { path: { id } } }));
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const fields = fieldErrorsOf(error);

  async function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(undefined);
    setSaved(false);
    try {
      // The SDK sends back the ETag this page read as If-Match: someone else's change in between is a 409, not lost.
      await client.mutate(
        await api().patch('/api/v1/client/clients/{id}', {
          params: { path: { id } },
          body: { name: String(form.get('name')), email: String(form.get('email')) || null },
        }),
        { revalidate: false },
      );
      setSaved(true);
    } catch (caught) {
      setError(caught);
    }
  }

  if (client.error) {
    return (
      <section>
        <ErrorNote error={isCodexApiError(client.error) && client.error.status === 404 ? 'This client does not exist (or was deleted).' : client.error} />
        <Link href="/clients">Back to clients</Link>
      </section>
    );
  }
  if (!client.data) return <p>Loading…</p>;
  return (
    <section>
      <PageTitle actions={<Link href="/clients">All clients</Link>}>{client.data.name}</PageTitle>
      <form key={client.data.version} onSubmit={save} className="flex max-w-md flex-col gap-4" aria-label="Edit client">
        <Field id="name" name="name" label="Name" defaultValue={client.data.name} required error={fields.name} />
        <Field id="email" name="email" type="email" label="Email" defaultValue={client.data.email ?? ''} error={fields.email} />
        <p className="text-sm text-gray-600 dark:text-gray-400">
          Status {client.data.status} · added {new Date(client.data.createdAt).toLocaleDateString()} · version {client.data.version}
        </p>
        {isCodexApiError(error, 'VERSION_CONFLICT') ? (
          <div role="alert" className="text-sm">
            Someone changed this client while you were editing.{' '}
            <Button variant="secondary" onClick={() => void client.mutate().then(() => setError(undefined))}>
              Load their version
            </Button>
          </div>
        ) : (
          <ErrorNote error={Object.keys(fields).length ? undefined : error} />
        )}
        {saved ? <p role="status">Saved.</p> : null}
        <Button type="submit">Save</Button>
      </form>
    </section>
  );
}
