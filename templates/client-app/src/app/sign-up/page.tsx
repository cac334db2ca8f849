'use client';

import { CodexApiError } from '@codex-metatron/sdk';
import { useRouter } from 'next/navigation';
import { signIn } from 'next-auth/react';
import { type FormEvent, useState } from 'react';
import { Button, ErrorNote, Field } from '@/components/ui';
import { fieldErrorsOf } from '@/lib/forms';

export default function SignUpPage() {
  const router = useRouter();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const fields = fieldErrorsOf(error);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = Object.fromEntries(new FormData(event.currentTarget)) as Record<string, string>;
    setBusy(true);
    setError(undefined);
    const response = await fetch('/api/sign-up', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(form) });
    if (!response.ok) {
      setError(await CodexApiError.fromResponse(response));
      setBusy(false);
      return;
    }
    const result = await signIn('credentials', { email: form.email, password: form.password, redirect: false });
    setBusy(false);
    if (result?.ok) router.push('/clients');
    else setError(new Error('Your account was created, but signing in failed; try signing in.'));
  }

  return (
    <form onSubmit={submit} className="mx-auto flex max-w-sm flex-col gap-4" aria-label="Sign up">
      <h1 className="text-xl font-semibold">Create your account</h1>
      <Field id="name" name="name" label="Name" autoComplete="name" error={fields.name} />
      <Field id="email" name="email" type="email" label="Email" autoComplete="email" required error={fields.email} />
      <Field
        id="password"
        name="password"
        type="password"
        label="Password (10 characters or more)"
        autoComplete="new-password"
        required
        error={fields.password}
      />
      <ErrorNote error={Object.keys(fields).length ? undefined : error} />
      <Button type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create account'}
      </Button>
    </form>
  );
}
