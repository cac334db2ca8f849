'use client';

import { useRouter, useSearchParams } from 'next/navigation';
import { type FormEvent, Suspense, useState } from 'react';
import { Button, ErrorNote, Field } from '@/components/ui';
import { api } from '@/lib/api';
import { fieldErrorsOf } from '@/lib/forms';

function AcceptForm() {
  const router = useRouter();
  const token = useSearchParams().get('token') ?? '';
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const fields = fieldErrorsOf(error);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api().post('/api/v1/auth/invitations/accept', { body: { token, password: String(new FormData(event.currentTarget).get('password')) } });
      router.push('/sign-in');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  if (!token) return <ErrorNote error="This link has no invitation in it: open the link from your invitation email." />;
  return (
    <form onSubmit={submit} className="mx-auto flex max-w-sm flex-col gap-4" aria-label="Accept invitation">
      <h1 className="text-xl font-semibold">Accept your invitation</h1>
      <Field
        id="password"
        name="password"
        type="password"
        label="Choose a password (10 characters or more)"
        autoComplete="new-password"
        required
        error={fields.password}
      />
      <ErrorNote error={Object.keys(fields).length ? undefined : error} />
      <Button type="submit" disabled={busy}>
        Accept and continue
      </Button>
    </form>
  );
}

export default function AcceptInvitationPage() {
  return (
    <Suspense>
      <AcceptForm />
    </Suspense>
  );
}
