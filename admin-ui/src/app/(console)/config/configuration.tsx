'use client';

import { type FormEvent, useEffect, useState } from 'react';
import useSWR from 'swr';
import { Button, Card, ErrorNote, Field, PageHeader, SelectField, Table } from '@/components/ui';
import { type ApiError, fetcher, gw } from '@/lib/api';
import { dateTime } from '@/lib/format';
import { useCan } from '@/lib/session-context';
import { useAction } from '@/lib/use-action';

interface Settings {
  defaultPlan: string;
  signupPolicy: 'open' | 'invite';
  passwordPolicy: { minLength: number };
  sessions: { accessTokenMinutes: number; userRefreshDays: number; adminRefreshHours: number };
  mfaRequired: boolean;
  softDeleteGraceHours: number;
  maintenanceBanner: { message: string; level: 'info' | 'warning' } | null;
}
interface Config {
  version: number;
  changedBy: string | null;
  changedAt: string | null;
  settings: Settings;
}
interface Version {
  version: number;
  changedBy: string | null;
  changedAt: string;
  restoredFrom: number | null;
  changes: Array<{ path: string }>;
}

/** A copy with one dotted path set: the form edits nested settings without losing the rest. */
function withValue<T>(value: T, path: string, next: unknown): T {
  const [head, ...rest] = path.split('.');
  const record = value as Record<string, unknown>;
  return { ...record, [head!]: rest.length ? withValue(record[head!], rest.join('.'), next) : next } as T;
}

export function Configuration() {
  const can = useCan();
  const config = useSWR<Config, ApiError>('gateway/admin/config', fetcher);
  const versions = useSWR<{ items: Version[] }, ApiError>('gateway/admin/config/versions?limit=20', fetcher);
  const [draft, setDraft] = useState<Settings | null>(null);
  const action = useAction();
  const [saved, setSaved] = useState<number | null>(null);
  // The form starts from the configuration in force, once; a failed save keeps what was typed.
  useEffect(() => {
    if (config.data && !draft) setDraft(config.data.settings);
  }, [config.data, draft]);
  const manage = can('system:manage');
  const fields = action.error?.fieldErrors() ?? {};

  const save = (event: FormEvent) => {
    event.preventDefault();
    void action.run('save', async () => {
      const next = await gw<Config>('admin/config', { method: 'PUT', body: draft });
      setSaved(next.version);
      setDraft(next.settings);
      await Promise.all([config.mutate(next), versions.mutate()]);
    });
  };
  const rollback = (version: number) =>
    action.run(`rollback-${version}`, async () => {
      const next = await gw<Config>('admin/config/rollback', { method: 'POST', body: { version } });
      setDraft(next.settings);
      setSaved(next.version);
      await Promise.all([config.mutate(next), versions.mutate()]);
    });
  const number = (path: string, label: string, value: number, hint?: string) => (
    <Field
      label={label}
      type="number"
      value={Number.isFinite(value) ? value : ''}
      hint={hint}
      disabled={!manage}
      error={fields[path]}
      onChange={(event) => setDraft(withValue(draft!, path, event.target.value === '' ? Number.NaN : Number(event.target.value)))}
    />
  );

  return (
    <div className="space-y-6">
      <PageHeader title="Configuration">{config.data && <span className="text-sm">version {config.data.version}</span>}</PageHeader>
      <ErrorNote error={config.error} />
      {draft && (
        <Card title="Platform settings">
          <form onSubmit={save} className="grid gap-4 sm:grid-cols-2">
            <Field
              label="Default plan"
              value={draft.defaultPlan}
              disabled={!manage}
              error={fields.defaultPlan}
              onChange={(event) => setDraft({ ...draft, defaultPlan: event.target.value })}
            />
            <SelectField
              label="Tenant user sign-up"
              value={draft.signupPolicy}
              disabled={!manage}
              onChange={(value) => setDraft({ ...draft, signupPolicy: value as Settings['signupPolicy'] })}
              options={[{ value: 'open' }, { value: 'invite', label: 'invitation only' }]}
            />
            {number('passwordPolicy.minLength', 'Minimum password length', draft.passwordPolicy.minLength)}
            {number('sessions.accessTokenMinutes', 'Access token minutes', draft.sessions.accessTokenMinutes, '5–60')}
            {number('sessions.userRefreshDays', 'User refresh days', draft.sessions.userRefreshDays)}
            {number('sessions.adminRefreshHours', 'Admin refresh hours', draft.sessions.adminRefreshHours)}
            {number('softDeleteGraceHours', 'Deleted tenants kept for (hours)', draft.softDeleteGraceHours)}
            <label className="flex items-center gap-2 self-end text-sm">
              <input
                type="checkbox"
                checked={draft.mfaRequired}
                disabled={!manage}
                onChange={(event) => setDraft({ ...draft, mfaRequired: event.target.checked })}
              />
              Every admin must use two-step sign-in
            </label>
            {manage && (
              <div className="flex items-center gap-3 sm:col-span-2">
                <Button type="submit" busy={action.busy === 'save'}>
                  Save as a new version
                </Button>
                {saved !== null && <p role="status">Saved as version {saved}.</p>}
              </div>
            )}
            <div className="sm:col-span-2">
              <ErrorNote error={action.error} />
            </div>
          </form>
        </Card>
      )}
      <Card title="Version history">
        <Table label="Configuration versions" head={['Version', 'When', 'By', 'Changed', ...(manage ? [''] : [])]}>
          {versions.data?.items.map((version) => (
            <tr key={version.version}>
              <td className="px-3 py-2 tabular-nums">
                {version.version}
                {version.restoredFrom !== null && ` (restores ${version.restoredFrom})`}
              </td>
              <td className="px-3 py-2">{dateTime(version.changedAt)}</td>
              <td className="px-3 py-2 font-mono text-xs">{version.changedBy ?? '—'}</td>
              <td className="px-3 py-2 font-mono text-xs">{version.changes.map((change) => change.path).join(', ') || '—'}</td>
              {manage && (
                <td className="px-3 py-2">
                  {version.version !== config.data?.version && (
                    <Button variant="secondary" busy={action.busy === `rollback-${version.version}`} onClick={() => rollback(version.version)}>
                      Roll back to {version.version}
                    </Button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </Table>
      </Card>
    </div>
  );
}
