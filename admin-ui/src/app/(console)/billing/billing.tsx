'use client';

import useSWR from 'swr';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Card, ErrorNote, PageHeader, StatusBadge, Table } from '@/components/ui';
import { type ApiError, fetcher } from '@/lib/api';
import { dateTime, money } from '@/lib/format';

interface Revenue {
  items: Array<{ period: string; currency: string; billedMinor: number; collectedMinor: number; outstandingMinor: number }>;
}
interface Invoice {
  id: string;
  tenantId: string;
  number: string;
  status: string;
  currency: string;
  totalMinor: number;
  paidMinor: number;
  issuedAt: string | null;
  dueAt: string | null;
}
interface Payment {
  id: string;
  tenantId: string;
  status: string;
  provider: string;
  amountMinor: number;
  currency: string;
  createdAt: string;
}

export function Billing() {
  const yearAgo = new Date(Date.UTC(new Date().getUTCFullYear() - 1, new Date().getUTCMonth(), 1)).toISOString();
  const revenue = useSWR<Revenue, ApiError>(
    `gateway/billing/revenue?from=${yearAgo}&to=${new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)}T00:00:00.000Z`,
    fetcher,
  );
  const invoices = useSWR<{ items: Invoice[]; total: number }, ApiError>('gateway/billing/tenant-invoices?limit=20', fetcher);
  const pastDue = useSWR<{ items: Invoice[]; total: number }, ApiError>('gateway/billing/tenant-invoices?status=finalized&limit=100', fetcher);
  const payments = useSWR<{ items: Payment[]; total: number }, ApiError>('gateway/billing/payments?limit=20', fetcher);
  const overdue = pastDue.data?.items.filter((invoice) => invoice.dueAt && new Date(invoice.dueAt).getTime() < Date.now()) ?? [];
  const currency = revenue.data?.items[0]?.currency ?? 'USD';
  const chart = (revenue.data?.items ?? [])
    .filter((row) => row.currency === currency)
    .map((row) => ({ period: row.period.slice(0, 7), billed: row.billedMinor / 100, collected: row.collectedMinor / 100 }));

  return (
    <div className="space-y-6">
      <PageHeader title="Billing" />
      <Card title={`Revenue by month (${currency})`}>
        <ErrorNote error={revenue.error} />
        {chart.length === 0 ? (
          <p className="text-sm">No invoices yet.</p>
        ) : (
          <div
            className="h-64"
            role="img"
            aria-label={`Revenue by month: ${chart.map((row) => `${row.period} billed ${row.billed}, collected ${row.collected}`).join('; ')}`}
          >
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={chart} accessibilityLayer={false}>
                <CartesianGrid strokeDasharray="3 3" opacity={0.3} />
                <XAxis dataKey="period" fontSize={11} />
                <YAxis fontSize={11} />
                <Tooltip />
                <Legend />
                <Bar dataKey="billed" fill="#4f46e5" />
                <Bar dataKey="collected" fill="#15803d" />
              </BarChart>
            </ResponsiveContainer>
          </div>
        )}
      </Card>
      <Card title={`Past due (${overdue.length})`}>
        <InvoiceTable label="Past-due invoices" invoices={overdue} />
      </Card>
      <Card title="Latest invoices">
        <ErrorNote error={invoices.error} />
        <InvoiceTable label="Invoices" invoices={invoices.data?.items ?? []} />
      </Card>
      <Card title="Latest payments">
        <ErrorNote error={payments.error} />
        <Table label="Payments" head={['When', 'Tenant', 'Amount', 'Provider', 'Status']}>
          {payments.data?.items.map((payment) => (
            <tr key={payment.id}>
              <td className="px-3 py-2">{dateTime(payment.createdAt)}</td>
              <td className="px-3 py-2 font-mono text-xs">{payment.tenantId}</td>
              <td className="px-3 py-2 tabular-nums">{money(payment.amountMinor, payment.currency)}</td>
              <td className="px-3 py-2">{payment.provider}</td>
              <td className="px-3 py-2">
                <StatusBadge status={payment.status} />
              </td>
            </tr>
          ))}
        </Table>
      </Card>
    </div>
  );
}

function InvoiceTable({ invoices, label }: { invoices: Invoice[]; label: string }) {
  return (
    <Table label={label} head={['Number', 'Tenant', 'Total', 'Paid', 'Issued', 'Due', 'Status']}>
      {invoices.map((invoice) => (
        <tr key={invoice.id}>
          <th scope="row" className="px-3 py-2 font-mono font-medium">
            {invoice.number}
          </th>
          <td className="px-3 py-2 font-mono text-xs">{invoice.tenantId}</td>
          <td className="px-3 py-2 tabular-nums">{money(invoice.totalMinor, invoice.currency)}</td>
          <td className="px-3 py-2 tabular-nums">{money(invoice.paidMinor, invoice.currency)}</td>
          <td className="px-3 py-2">{dateTime(invoice.issuedAt)}</td>
          <td className="px-3 py-2">{dateTime(invoice.dueAt)}</td>
          <td className="px-3 py-2">
            <StatusBadge status={invoice.status} />
          </td>
        </tr>
      ))}
    </Table>
  );
}
