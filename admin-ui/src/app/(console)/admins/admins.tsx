'use client';

import { UserPlus } from 'lucide-react';
import { type FormEvent, useState } from 'react';
import useSWR from 'swr';
import { ShownOnce } from '@/components/copy-button';
import { Badge, Button, Card, ErrorNote, Field, FormActions, Modal, PageHeader, SelectField, StatusBadge, Table } from '@/components/ui';
import { type ApiError, fetcher, gw } from '@/lib/api';
import { dateTime } from '@/lib/format';
import { useCan, useSession } from '@/lib/session-context';
import { useAction } from '@/lib/use-action';

const ROLES = ['super_admin', 'admin', 'support', 'viewer'] as const;
interface Admin {
  id: string;
  email: string;
  name: string | null;
  role: string;
  status: string;
  hasPassword: boolean;
  mfaEnrolled: boolean;
  lastLoginAt: string | null;
}
interface MfaStatus {
  enabled: boolean;
  enabledAt: string | null;
  recoveryCodesLeft: number;
  requiredByPlatform: boolean;
}

export function Admins() {
  const can = useCan();
  const me = useSession();
  const admins = useSWR<{ items: Admin[] }, ApiError>(can('admins:read') ? 'gateway/admin/admins' : null, fetcher);
  const [adding, setAdding] = useState(false);
  return (
    <div className="space-y-6">
      <PageHeader title="Admins">
        {can('admins:manage') && (
          <Button onClick={() => setAdding(true)}>
            <UserPlus aria-hidden className="size-4" /> Add admin
          </Button>
        )}
      </PageHeader>
      <OwnMfa />
      {can('admins:read') && (
        <Card title="Platform admins">
          <ErrorNote error={admins.error} />
          <Table label="Admins" head={['Email', 'Name', 'Role', 'Status', 'MFA', 'Last sign-in', ...(can('admins:manage') ? ['Actions'] : [])]}>
            {admins.data?.items.map((admin) => (
              <tr key={admin.id}>
                <th scope="row" className="px-3 py-2 font-medium">
                  {admin.email}
                </th>
                <td className="px-3 py-2">{admin.name ?? '—'}</td>
                <td className="px-3 py-2">{admin.role.replace('_', ' ')}</td>
                <td className="px-3 py-2">
                  <StatusBadge status={admin.hasPassword ? admin.status : 'invited'} />
                </td>
                <td className="px-3 py-2">{admin.mfaEnrolled ? <Badge tone="green">on</Badge> : <Badge tone="gray">off</Badge>}</td>
                <td className="px-3 py-2">{dateTime(admin.lastLoginAt)}</td>
                {can('admins:manage') && (
                  <td className="px-3 py-2">
                    <AdminActions admin={admin} isSelf={admin.id === me.id} onChanged={() => void admins.mutate()} />
                  </td>
                )}
              </tr>
            ))}
          </Table>
        </Card>
      )}
      <AddAdmin open={adding} onClose={() => setAdding(false)} onAdded={() => void admins.mutate()} />
    </div>
  );
}

/** A super admin's changes to another admin: role, access, a lost authenticator. Not to themselves (the API refuses a last super admin's demotion too). */
function AdminActions({ admin, isSelf, onChanged }: { admin: Admin; isSelf: boolean; onChanged: () => void }) {
  const action = useAction();
  if (isSelf) return <span className="text-xs text-gray-600 dark:text-gray-400">you</span>;
  const patch = (name: string, body: Record<string, string>) =>
    action.run(name, async () => {
      await gw(`admin/admins/${admin.id}`, { method: 'PATCH', body });
      onChanged();
    });
  return (
    <div className="flex flex-wrap items-end gap-2">
      <SelectField
        label={`Role of ${admin.email}`}
        value={admin.role}
        onChange={(role) => void patch('role', { role })}
        options={ROLES.map((value) => ({ value, label: value.replace('_', ' ') }))}
      />
      <Button
        variant="secondary"
        busy={action.busy === 'status'}
        onClick={() => patch('status', { status: admin.status === 'disabled' ? 'active' : 'disabled' })}
      >
        {admin.status === 'disabled' ? 'Enable' : 'Disable'}
      </Button>
      {admin.mfaEnrolled && (
        <Button
          variant="secondary"
          busy={action.busy === 'mfa'}
          onClick={() =>
            action.run('mfa', async () => {
              await gw(`admin/admins/${admin.id}/mfa`, { method: 'DELETE' });
              onChanged();
            })
          }
        >
          Reset MFA
        </Button>
      )}
      <ErrorNote error={action.error} />
    </div>
  );
}

/** Every admin's own second factor: enrol, activate with a first code, see the recovery codes once. */
function OwnMfa() {
  const status = useSWR<MfaStatus, ApiError>('gateway/auth/admin/mfa', fetcher);
  const [enrolment, setEnrolment] = useState<{ secret: string; otpauthUri: string } | null>(null);
  const [code, setCode] = useState('');
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const action = useAction();
  const activate = (event: FormEvent) => {
    event.preventDefault();
    void action.run('activate', async () => {
      const answer = await gw<{ recoveryCodes: string[] }>('auth/admin/mfa/activate', { method: 'POST', body: { code: code.replace(/\s+/g, '') } });
      setRecoveryCodes(answer.recoveryCodes);
      setEnrolment(null);
      await status.mutate();
    });
  };
  return (
    <Card title="Your two-step sign-in">
      <ErrorNote error={status.error ?? action.error} />
      {status.data?.enabled ? (
        <p className="text-sm">
          <Badge tone="green">on</Badge> since {dateTime(status.data.enabledAt)}; {status.data.recoveryCodesLeft} recovery codes left.
        </p>
      ) : enrolment ? (
        <form onSubmit={activate} className="space-y-3 text-sm">
          <p>Add this secret to your authenticator app, then enter the code it shows.</p>
          <code className="block break-all font-mono">{enrolment.secret}</code>
          <a className="text-indigo-700 underline dark:text-indigo-300" href={enrolment.otpauthUri}>
            Open in an authenticator app
          </a>
          <Field label="Authentication code" inputMode="numeric" autoComplete="one-time-code" value={code} onChange={(event) => setCode(event.target.value)} />
          <Button type="submit" busy={action.busy === 'activate'}>
            Turn on
          </Button>
        </form>
      ) : (
        <div className="flex items-center gap-3 text-sm">
          <Badge tone="amber">off</Badge>
          <Button
            variant="secondary"
            busy={action.busy === 'enrol'}
            onClick={() => action.run('enrol', async () => setEnrolment(await gw('auth/admin/mfa/enrol', { method: 'POST' })))}
          >
            Set up an authenticator app
          </Button>
        </div>
      )}
      {recoveryCodes && (
        <div className="mt-3 text-sm">
          <p className="font-medium">Recovery codes — shown only now:</p>
          <ul className="grid grid-cols-2 gap-1 font-mono sm:grid-cols-5">
            {recoveryCodes.map((recoveryCode) => (
              <li key={recoveryCode}>{recoveryCode}</li>
            ))}
          </ul>
        </div>
      )}
    </Card>
  );
}

function AddAdmin({ open, onClose, onAdded }: { open: boolean; onClose: () => void; onAdded: () => void }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<string>('viewer');
  const [token, setToken] = useState<string | null>(null);
  const action = useAction();
  const fields = action.error?.fieldErrors() ?? {};
  const close = () => {
    if (token) {
      setEmail('');
      setName('');
      setToken(null);
    }
    onClose();
  };
  return (
    <Modal open={open} onClose={close} title={token ? 'Admin added' : 'Add an admin'}>
      {token ? (
        <div className="space-y-3">
          <p className="text-sm">Send this one-time token to {email}; it sets their password within 24 hours (POST /api/v1/auth/admin/password).</p>
          <ShownOnce label="Password token" value={token} />
          <Button onClick={close}>Done</Button>
        </div>
      ) : (
        <form
          className="space-y-3"
          onSubmit={(event) => {
            event.preventDefault();
            void action.run('add', async () => {
              const added = await gw<{ passwordToken: string }>('admin/admins', { method: 'POST', body: { email, name: name || undefined, role } });
              setToken(added.passwordToken);
              onAdded();
            });
          }}
        >
          <Field label="Email" type="email" required value={email} error={fields.email} onChange={(event) => setEmail(event.target.value)} />
          <Field label="Name" value={name} error={fields.name} onChange={(event) => setName(event.target.value)} />
          <SelectField label="Role" value={role} onChange={setRole} options={ROLES.map((value) => ({ value, label: value.replace('_', ' ') }))} />
          <ErrorNote error={action.error && Object.keys(fields).length === 0 ? action.error : null} />
          <FormActions submit="Add admin" onCancel={close} busy={action.busy === 'add'} />
        </form>
      )}
    </Modal>
  );
}
