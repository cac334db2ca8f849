import type { Metadata } from 'next';
import { PlansAndFlags } from './plans-and-flags';

export const metadata: Metadata = { title: 'Plans' };

export default function Page() {
  return <PlansAndFlags />;
}
