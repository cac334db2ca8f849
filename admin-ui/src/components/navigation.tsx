'use client';

import { BookOpen, CreditCard, Flag, Gauge, LogOut, ScrollText, Settings, ShieldCheck, Users } from 'lucide-react';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { api } from '@/lib/api';
import { BASE_PATH } from '@/lib/base-path';
import { useCan, useSession } from '@/lib/session-context';

const LINKS = [
  { href: '/', label: 'Dashboard', icon: Gauge, permission: 'system:read' },
  { href: '/tenants', label: 'Tenants', icon: Users, permission: 'tenants:read' },
  { href: '/plans', label: 'Plans & flags', icon: Flag, permission: 'plans:read' },
  { href: '/billing', label: 'Billing', icon: CreditCard, permission: 'revenue:read' },
  { href: '/admins', label: 'Admins', icon: ShieldCheck, permission: null },
  { href: '/audit', label: 'Audit log', icon: ScrollText, permission: 'audit:read' },
  { href: '/config', label: 'Configuration', icon: Settings, permission: 'system:read' },
  { href: '/api-docs', label: 'API docs', icon: BookOpen, permission: null },
];

export function Navigation() {
  const pathname = usePathname();
  const me = useSession();
  const can = useCan();
  const signOut = async () => {
    await api('session', { method: 'DELETE' }).catch(() => undefined);
    window.location.assign(`${BASE_PATH}/sign-in`);
  };
  return (
    <nav aria-label="Console" className="border-b border-gray-200 bg-white md:w-60 md:border-r md:border-b-0 dark:border-gray-800 dark:bg-gray-900">
      <div className="p-4 text-lg font-semibold">CDXPharaoh</div>
      <ul className="flex flex-wrap gap-1 px-2 md:flex-col">
        {LINKS.filter((link) => !link.permission || can(link.permission)).map(({ href, label, icon: Icon }) => {
          const current = href === '/' ? pathname === '/' : pathname.startsWith(href);
          return (
            <li key={href}>
              <Link
                href={href}
                aria-current={current ? 'page' : undefined}
                className={`flex items-center gap-2 rounded-md px-3 py-2 text-sm ${current ? 'bg-indigo-50 font-medium text-indigo-800 dark:bg-indigo-950 dark:text-indigo-200' : 'hover:bg-gray-100 dark:hover:bg-gray-800'}`}
              >
                <Icon aria-hidden className="size-4" />
                {label}
              </Link>
            </li>
          );
        })}
      </ul>
      <div className="mt-4 border-t border-gray-200 p-4 text-sm dark:border-gray-800">
        <p className="truncate font-medium">{me.email}</p>
        <p className="text-gray-600 dark:text-gray-400">{me.role.replace('_', ' ')}</p>
        <button type="button" onClick={signOut} className="mt-2 inline-flex items-center gap-1 text-indigo-700 underline dark:text-indigo-300">
          <LogOut aria-hidden className="size-4" /> Sign out
        </button>
      </div>
    </nav>
  );
}
