import PDFDocument from 'pdfkit';
import type { Invoice } from '../db/invoices-repo';

/** What a document prints of an invoice: the platform's to a tenant, or a tenant's to its client. */
export type DocumentInvoice = Pick<
  Invoice,
  | 'number'
  | 'status'
  | 'currency'
  | 'periodStart'
  | 'periodEnd'
  | 'issuedAt'
  | 'dueAt'
  | 'subtotalMinor'
  | 'taxRateBp'
  | 'taxMinor'
  | 'totalMinor'
  | 'paidMinor'
> & { creditedMinor?: number; lines: Array<Pick<Invoice['lines'][number], 'description' | 'quantity' | 'unitAmountMinor' | 'amountMinor'>> };

/** Who an invoice is from and to, as printed on it. */
export interface InvoiceParties {
  issuer: string;
  customer: { name: string; slug: string; email: string | null };
}

/** Minor units → the currency's own notation ("$1,234.50", "¥1,235"), from its ISO 4217 digits. */
export function formatMoney(amountMinor: number, currency: string): string {
  const format = new Intl.NumberFormat('en', { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amountMinor / 10 ** digits);
}

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '—');
const percent = (basisPoints: number) => `${(basisPoints / 100).toFixed(2).replace(/\.?0+$/, '')} %`;

/** What both renderings print, in order: one source, so the HTML and the PDF cannot disagree. */
function contentOf(invoice: DocumentInvoice, parties: InvoiceParties) {
  const money = (minor: number) => formatMoney(minor, invoice.currency);
  return {
    title: `Invoice ${invoice.number ?? '(draft)'}`,
    facts: [
      ['From', parties.issuer],
      ['To', [parties.customer.name, parties.customer.slug, parties.customer.email].filter(Boolean).join(' · ')],
      ['Status', invoice.status],
      ['Period', `${day(invoice.periodStart)} – ${day(invoice.periodEnd)}`],
      ['Issued', day(invoice.issuedAt)],
      ['Due', day(invoice.dueAt)],
    ] as Array<[string, string]>,
    lines: invoice.lines.map((line) => ({
      description: line.description,
      quantity: String(line.quantity),
      unit: money(line.unitAmountMinor),
      amount: money(line.amountMinor),
    })),
    totals: [
      ['Subtotal', money(invoice.subtotalMinor)],
      [`Tax (${percent(invoice.taxRateBp)})`, money(invoice.taxMinor)],
      ['Total', money(invoice.totalMinor)],
      ['Paid', money(invoice.paidMinor)],
      ...(invoice.creditedMinor ? [['Credited', money(invoice.creditedMinor)] as [string, string]] : []),
      ['Amount due', money(invoice.status === 'finalized' ? invoice.totalMinor - invoice.paidMinor - (invoice.creditedMinor ?? 0) : 0)],
    ] as Array<[string, string]>,
  };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A self-contained HTML page (inline styles, no scripts, every value escaped). */
export function invoiceHtml(invoice: DocumentInvoice, parties: InvoiceParties): string {
  const content = contentOf(invoice, parties);
  const e = escapeHtml;
  const rows = content.lines
    .map((l) => `<tr><td>${e(l.description)}</td><td class="n">${e(l.quantity)}</td><td class="n">${e(l.unit)}</td><td class="n">${e(l.amount)}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${e(content.title)}</title>
<style>body{font:14px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;color:#111}table{width:100%;border-collapse:collapse;margin:1rem 0}
td,th{padding:.35rem .5rem;border-bottom:1px solid #ddd;text-align:left}.n{text-align:right}dl{display:grid;grid-template-columns:8rem 1fr;gap:.2rem}dt{color:#555}</style>
</head><body>
<h1>${e(content.title)}</h1>
<dl>${content.facts.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join('')}</dl>
<table><thead><tr><th>Description</th><th class="n">Quantity</th><th class="n">Unit price</th><th class="n">Amount</th></tr></thead><tbody>${rows}</tbody></table>
<table>${content.totals.map(([k, v]) => `<tr><th>${e(k)}</th><td class="n">${e(v)}</td></tr>`).join('')}</table>
</body></html>
`;
}

/** The same content as a PDF (pdfkit, its built-in Helvetica). */
export function invoicePdf(invoice: DocumentInvoice, parties: InvoiceParties): Promise<Buffer> {
  const content = contentOf(invoice, parties);
  const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: content.title, Author: parties.issuer } });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const left = 50;
  const width = doc.page.width - 100;
  doc.font('Helvetica-Bold').fontSize(18).text(content.title);
  doc.moveDown();
  doc.font('Helvetica').fontSize(10);
  for (const [key, value] of content.facts) doc.text(`${key}: ${value}`);
  doc.moveDown();
  const columns = [
    { at: left, width: width * 0.5, align: 'left' as const },
    { at: left + width * 0.5, width: width * 0.12, align: 'right' as const },
    { at: left + width * 0.62, width: width * 0.19, align: 'right' as const },
    { at: left + width * 0.81, width: width * 0.19, align: 'right' as const },
  ];
  const row = (cells: string[], bold = false) => {
    const y = doc.y;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica');
    const heights = cells.map((cell, i) => doc.heightOfString(cell, { width: columns[i]!.width }));
    for (const [i, cell] of cells.entries()) doc.text(cell, columns[i]!.at, y, { width: columns[i]!.width, align: columns[i]!.align });
    doc.x = left;
    doc.y = y + Math.max(...heights) + 4;
  };
  row(['Description', 'Quantity', 'Unit price', 'Amount'], true);
  for (const line of content.lines) row([line.description, line.quantity, line.unit, line.amount]);
  doc.moveDown();
  for (const [key, value] of content.totals) row([key, '', '', value], key === 'Total' || key === 'Amount due');
  doc.end();
  return done;
}
