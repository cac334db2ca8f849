'use client';

import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { signIn } from 'next-auth/react';
import { type FormEvent, Suspense, useState } from 'react';
import { Button, ErrorNote, Field } from '@/components/ui';

/** Only this app's own pages are gone back to after sign-in. */
const safeNext = (value: string | null) => (value?.startsWith('/') && !value.startsWith('//') ? value : '/clients');

function SignInForm() {
  const router = useRouter();
  const next = safeNext(useSearchParams().get('callbackUrl'));
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(undefined);
    const result = await signIn('credentials', { email: form.get('email'), password: form.get('password'), redirect: false });
    setBusy(false);
    if (result?.ok) router.push(next);
    else setError(result?.error === 'CredentialsSignin' ? 'The email or password is not right.' : 'Signing in failed; try again in a moment.');
  }

  return (
    <form onSubmit={submit} className="mx-auto flex max-w-sm flex-col gap-4" aria-label="Sign in">
      <h1 className="text-xl font-semibold">Sign in</h1>
      <Field id="email" name="email" type="email" label="Email" autoComplete="email" required />
      <Field id="password" name="password" type="password" label="Password" autoComplete="current-password" required />
      <ErrorNote error={error} />
      <Button type="submit" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </Button>
      <p className="text-sm">
        New here? <Link href="/sign-up">Create an account</Link>
      </p>
    </form>
  );
}

export default function SignInPage() {
  return (
    <Suspense>
      <SignInForm />
    </Suspense>
  );
}
