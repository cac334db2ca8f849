import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { EntitlementsBanner } from '@/components/entitlements-banner';
import { Nav } from '@/components/nav';
import { Providers } from './providers';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'My Codex app', template: '%s · My Codex app' },
  description: 'A tenant app on Codex Metatron',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-gray-50 text-gray-900 antialiased dark:bg-gray-950 dark:text-gray-100">
        <Providers>
          <Nav />
          <EntitlementsBanner />
          <main className="mx-auto max-w-6xl px-4 py-6">{children}</main>
        </Providers>
      </body>
    </html>
  );
}
