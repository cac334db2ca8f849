'use client';

import { Button } from '@/components/ui';

export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <section role="alert" className="flex flex-col items-start gap-2">
      <h1 className="text-xl font-semibold">Something went wrong</h1>
      <p>{error.digest ? `The page could not be shown (reference ${error.digest}).` : error.message}</p>
      <Button onClick={reset}>Try again</Button>
    </section>
  );
}
