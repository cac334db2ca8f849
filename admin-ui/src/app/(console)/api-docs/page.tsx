import type { Metadata } from 'next';
import { Card, PageHeader } from '@/components/ui';
import { PUBLIC_API_URL } from '@/server/gateway';

export const metadata: Metadata = { title: 'API docs' };

const SERVICES = ['auth', 'billing', 'subscription', 'crm', 'client', 'admin'];

/** Where the platform's API is described: the gateway's combined document and Swagger UI, and each service's part of it. */
export default function ApiDocsPage() {
  const gateway = PUBLIC_API_URL;
  return (
    <div className="space-y-6">
      <PageHeader title="API docs" />
      <Card title="The whole platform">
        <ul className="list-disc space-y-1 pl-5 text-sm">
          <li>
            <a className="text-indigo-700 underline dark:text-indigo-300" href={`${gateway}/docs`}>
              Swagger UI (every route through the gateway)
            </a>
          </li>
          <li>
            <a className="text-indigo-700 underline dark:text-indigo-300" href={`${gateway}/openapi.json`}>
              OpenAPI 3.1 document
            </a>
          </li>
        </ul>
      </Card>
      <Card title="By service">
        <ul className="grid gap-2 text-sm sm:grid-cols-3">
          {SERVICES.map((service) => (
            <li key={service}>
              <a className="text-indigo-700 underline dark:text-indigo-300" href={`${gateway}/docs#/${service}`}>
                {service}
              </a>{' '}
              <span className="font-mono text-xs">/api/v1/{service}/…</span>
            </li>
          ))}
        </ul>
      </Card>
    </div>
  );
}
