'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { signOut, useSession } from 'next-auth/react';
import { Button } from './ui';

const LINKS = [
  { href: '/clients', label: 'Clients' },
  { href: '/deals', label: 'Deals' },
  { href: '/profile', label: 'Profile' },
];

export function Nav() {
  const { data: session, status } = useSession();
  const pathname = usePathname();
  return (
    <header className="border-b border-gray-200 bg-white dark:border-gray-800 dark:bg-gray-900">
      <nav aria-label="Main" className="mx-auto flex max-w-6xl items-center gap-4 px-4 py-3">
        <Link href="/" className="font-semibold">
          My Codex app
        </Link>
        {status === 'authenticated' ? (
          <>
            <ul className="flex gap-3 text-sm">
              {LINKS.map((link) => (
                <li key={link.href}>
                  <Link
                    href={link.href}
                    aria-current={pathname.startsWith(link.href) ? 'page' : undefined}
                    className="rounded px-2 py-1 hover:bg-gray-100 aria-[current=page]:font-semibold dark:hover:bg-gray-800"
                  >
                    {link.label}
                  </Link>
                </li>
              ))}
            </ul>
            <span className="ml-auto text-sm text-gray-600 dark:text-gray-400" data-testid="signed-in-as">
              {session.user.email}
            </span>
            <Button variant="secondary" onClick={() => signOut({ callbackUrl: '/sign-in' })}>
              Sign out
            </Button>
          </>
        ) : status === 'unauthenticated' ? (
          <div className="ml-auto flex gap-3 text-sm">
            <Link href="/sign-in">Sign in</Link>
            <Link href="/sign-up">Sign up</Link>
          </div>
        ) : null}
      </nav>
    </header>
  );
}
