'use client';

import { type FormEvent, useState } from 'react';
import { Button, ErrorNote, Field, PageTitle } from '@/components/ui';
import { api } from '@/lib/api';
import { fieldErrorsOf } from '@/lib/forms';
import useSWR from 'swr';

export default function ProfilePage() {
  const me = useSWR('me', () => api().get('/api/v1/auth/me'));
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const fields = fieldErrorsOf(error);

  async function changePassword(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(undefined);
    setSaved(false);
    try {
      await api().post('/api/v1/auth/password', {
        body: { currentPassword: String(form.get('currentPassword')), newPassword: String(form.get('newPassword')) },
      });
      setSaved(true);
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <section>
      <PageTitle>Profile</PageTitle>
      <ErrorNote error={me.error} />
      {me.data ? (
        <dl className="mb-8 grid max-w-md grid-cols-[8rem_1fr] gap-2 text-sm">
          <dt className="text-gray-600 dark:text-gray-400">Name</dt>
          <dd>{me.data.name || '—'}</dd>
          <dt className="text-gray-600 dark:text-gray-400">Email</dt>
          <dd>{me.data.email}</dd>
          <dt className="text-gray-600 dark:text-gray-400">Roles</dt>
          <dd>{me.data.roles.join(', ')}</dd>
        </dl>
      ) : null}
      <form onSubmit={changePassword} className="flex max-w-sm flex-col gap-4" aria-label="Change password">
        <h2 className="font-semibold">Change password</h2>
        <Field
          id="currentPassword"
          name="currentPassword"
          type="password"
          label="Current password"
          autoComplete="current-password"
          required
          error={fields.currentPassword}
        />
        <Field id="newPassword" name="newPassword" type="password" label="New password" autoComplete="new-password" required error={fields.newPassword} />
        <ErrorNote error={Object.keys(fields).length ? undefined : error} />
        {saved ? <p role="status">Password changed.</p> : null}
        <Button type="submit">Change password</Button>
      </form>
    </section>
  );
}
