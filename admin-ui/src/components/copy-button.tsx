'use client';

import { Check, Copy } from 'lucide-react';
import { useState } from 'react';
import { Button } from './ui';

export function CopyButton({ value, label = 'Copy' }: { value: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <Button
      variant="secondary"
      onClick={async () => {
        await navigator.clipboard.writeText(value);
        setCopied(true);
        setTimeout(() => setCopied(false), 2_000);
      }}
    >
      {copied ? <Check aria-hidden className="size-4" /> : <Copy aria-hidden className="size-4" />}
      {copied ? 'Copied' : label}
    </Button>
  );
}

/** A secret the platform shows once: in full, with a copy button and the warning. */
export function ShownOnce({ label, value }: { label: string; value: string }) {
  return (
    <div className="space-y-2 rounded-md border border-amber-300 bg-amber-50 p-3 dark:border-amber-800 dark:bg-amber-950">
      <p className="text-sm font-medium">{label} — shown only now</p>
      <code className="block break-all rounded bg-white p-2 font-mono text-sm dark:bg-gray-900" data-testid="shown-once">
        {value}
      </code>
      <CopyButton value={value} />
    </div>
  );
}
