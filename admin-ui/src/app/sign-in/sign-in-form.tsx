'use client';

import { type FormEvent, useState } from 'react';
import { Button, ErrorNote, Field } from '@/components/ui';
import { ApiError, api } from '@/lib/api';
import { BASE_PATH } from '@/lib/base-path';

type Step =
  | { name: 'password' }
  | { name: 'code'; challengeToken: string; useRecovery: boolean }
  | { name: 'enrol'; challengeToken: string; secret: string; uri: string }
  | { name: 'recovery-codes'; codes: string[] };

/** Only a path of this console: `next` must not send the admin to another site after signing in. */
function nextPage(): string {
  const next = new URLSearchParams(window.location.search).get('next');
  return next?.startsWith('/') && !next.startsWith('//') ? `${BASE_PATH}${next}` : `${BASE_PATH}/`;
}

export function SignInForm() {
  const [step, setStep] = useState<Step>({ name: 'password' });
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  async function signedIn(answer: { recoveryCodes?: string[] }) {
    if (answer.recoveryCodes?.length) setStep({ name: 'recovery-codes', codes: answer.recoveryCodes });
    else window.location.assign(nextPage());
  }

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const challengeToken = (err.details as { challengeToken?: string } | undefined)?.challengeToken;
      if (err.code === 'MFA_REQUIRED' && challengeToken) {
        setStep({ name: 'code', challengeToken, useRecovery: false });
      } else if (err.code === 'MFA_ENROLMENT_REQUIRED' && challengeToken) {
        const enrolment = await api<{ secret: string; otpauthUri: string }>('session/mfa/enrol', { method: 'POST', body: { challengeToken } });
        setStep({ name: 'enrol', challengeToken, secret: enrolment.secret, uri: enrolment.otpauthUri });
      } else {
        setError(err);
      }
    } finally {
      setBusy(false);
    }
  }

  const submitPassword = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => signedIn(await api('session', { method: 'POST', body: { email, password } })));
  };
  const submitCode = (challengeToken: string, recovery: boolean) => (event: FormEvent) => {
    event.preventDefault();
    const factor = recovery ? { recoveryCode: code } : { code: code.replace(/\s+/g, '') };
    void run(async () => signedIn(await api('session/mfa', { method: 'POST', body: { challengeToken, ...factor } })));
  };
  const fieldErrors = error?.fieldErrors() ?? {};

  if (step.name === 'recovery-codes') {
    return (
      <div className="space-y-4">
        <h2 className="font-semibold">Your recovery codes</h2>
        <p className="text-sm">Each signs you in once if you lose your authenticator. They are shown only now: store them somewhere safe.</p>
        <ul className="grid grid-cols-2 gap-1 font-mono text-sm" aria-label="Recovery codes">
          {step.codes.map((recoveryCode) => (
            <li key={recoveryCode}>{recoveryCode}</li>
          ))}
        </ul>
        <Button onClick={() => window.location.assign(nextPage())}>I have stored them — continue</Button>
      </div>
    );
  }

  if (step.name === 'code' || step.name === 'enrol') {
    const recovery = step.name === 'code' && step.useRecovery;
    return (
      <form className="space-y-4" onSubmit={submitCode(step.challengeToken, recovery)}>
        {step.name === 'enrol' ? (
          <div className="space-y-2 text-sm">
            <p>The platform requires a second factor. Add this account to your authenticator app, then enter the code it shows.</p>
            <p>
              Secret: <code className="break-all font-mono">{step.secret}</code>
            </p>
            <a className="text-indigo-700 underline dark:text-indigo-300" href={step.uri}>
              Open in an authenticator app
            </a>
          </div>
        ) : (
          <p className="text-sm">{recovery ? 'Enter one of your recovery codes.' : 'Enter the 6-digit code from your authenticator app.'}</p>
        )}
        <Field
          label={recovery ? 'Recovery code' : 'Authentication code'}
          name="code"
          autoComplete="one-time-code"
          inputMode={recovery ? 'text' : 'numeric'}
          autoFocus
          required
          value={code}
          onChange={(event) => setCode(event.target.value)}
          error={fieldErrors.code ?? fieldErrors.recoveryCode}
        />
        <ErrorNote error={error} />
        <div className="flex flex-wrap items-center gap-3">
          <Button type="submit" busy={busy}>
            Verify
          </Button>
          {step.name === 'code' && (
            <button
              type="button"
              className="text-sm text-indigo-700 underline dark:text-indigo-300"
              onClick={() => {
                setCode('');
                setStep({ ...step, useRecovery: !step.useRecovery });
              }}
            >
              {recovery ? 'Use an authentication code' : 'Use a recovery code'}
            </button>
          )}
        </div>
      </form>
    );
  }

  return (
    <form className="space-y-4" onSubmit={submitPassword}>
      <Field
        label="Email"
        name="email"
        type="email"
        autoComplete="username"
        autoFocus
        required
        value={email}
        onChange={(event) => setEmail(event.target.value)}
        error={fieldErrors.email}
      />
      <Field
        label="Password"
        name="password"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onChange={(event) => setPassword(event.target.value)}
        error={fieldErrors.password}
      />
      <ErrorNote error={error} />
      <Button type="submit" busy={busy} className="w-full justify-center">
        Sign in
      </Button>
    </form>
  );
}
