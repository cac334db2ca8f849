import type { Metadata } from 'next';
import { SignInForm } from './sign-in-form';

export const metadata: Metadata = { title: 'Sign in' };

export default function SignInPage() {
  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <div className="w-full max-w-sm space-y-6 rounded-lg border border-gray-200 bg-white p-8 shadow-sm dark:border-gray-800 dark:bg-gray-900">
        <div>
          <h1 className="text-2xl font-semibold">CDXPharaoh</h1>
          <p className="text-sm text-gray-600 dark:text-gray-400">Sign in to the Codex Metatron console</p>
        </div>
        <SignInForm />
      </div>
    </main>
  );
}
