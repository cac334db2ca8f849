import type { Metadata } from 'next';
import { Configuration } from './configuration';

export const metadata: Metadata = { title: 'Configuration' };

export default function Page() {
  return <Configuration />;
}
