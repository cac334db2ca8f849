import type { Queryable } from '@codex/shared';

export interface Price {
  id: string;
  productId: string;
  amountMinor: number;
  currency: string;
  interval: 'month' | 'year' | null;
  trialDays: number;
  active: boolean;
  createdAt: string;
}

export interface Product {
  id: string;
  name: string;
  description: string;
  active: boolean;
  version: number;
  prices: Price[];
  createdAt: string;
  updatedAt: string;
}

interface PriceRow {
  id: string;
  product_id: string;
  amount_minor: string | number;
  currency: string;
  billing_interval: 'month' | 'year' | null;
  trial_days: number;
  active: boolean;
  created_at: string | Date;
}

const toPrice = (row: PriceRow): Price => ({
  id: row.id,
  productId: row.product_id,
  amountMinor: Number(row.amount_minor),
  currency: row.currency,
  interval: row.billing_interval,
  trialDays: row.trial_days,
  active: row.active,
  createdAt: new Date(row.created_at).toISOString(),
});

const PRODUCT_SELECT = `SELECT p.*, coalesce((SELECT jsonb_agg(to_jsonb(pr) ORDER BY pr.created_at) FROM prices pr WHERE pr.product_id = p.id), '[]') AS prices FROM products p`;

interface ProductRow {
  id: string;
  name: string;
  description: string;
  active: boolean;
  version: number;
  prices: PriceRow[];
  created_at: Date;
  updated_at: Date;
}

const toProduct = (row: ProductRow): Product => ({
  id: row.id,
  name: row.name,
  description: row.description,
  active: row.active,
  version: row.version,
  prices: row.prices.map(toPrice),
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

export async function listProducts(db: Queryable, filter: { limit: number; offset: number }): Promise<Product[]> {
  const { rows } = await db.query<ProductRow>(`${PRODUCT_SELECT} ORDER BY p.created_at DESC, p.id DESC LIMIT $1 OFFSET $2`, [filter.limit, filter.offset]);
  return rows.map(toProduct);
}

export async function findProduct(db: Queryable, id: string): Promise<Product | undefined> {
  const { rows } = await db.query<ProductRow>(`${PRODUCT_SELECT} WHERE p.id = $1`, [id]);
  return rows[0] && toProduct(rows[0]);
}

export async function insertProduct(db: Queryable, input: { name: string; description: string }): Promise<string> {
  const { rows } = await db.query<{ id: string }>('INSERT INTO products (name, description) VALUES ($1, $2) RETURNING id', [input.name, input.description]);
  return rows[0]!.id;
}

/** Applies changes if the product is at `version`; false when it is not (or gone). */
export async function updateProduct(
  db: Queryable,
  id: string,
  version: number,
  changes: { name?: string; description?: string; active?: boolean },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE products SET name = coalesce($3, name), description = coalesce($4, description), active = coalesce($5, active), version = version + 1
      WHERE id = $1 AND version = $2`,
    [id, version, changes.name ?? null, changes.description ?? null, changes.active ?? null],
  );
  return Boolean(rowCount);
}

export async function insertPrice(
  db: Queryable,
  productId: string,
  input: { amountMinor: number; currency: string; interval: 'month' | 'year' | null; trialDays: number },
): Promise<Price> {
  const { rows } = await db.query<PriceRow>(
    'INSERT INTO prices (product_id, amount_minor, currency, billing_interval, trial_days) VALUES ($1, $2, $3, $4, $5) RETURNING *',
    [productId, input.amountMinor, input.currency, input.interval, input.trialDays],
  );
  return toPrice(rows[0]!);
}

export async function findPrice(db: Queryable, id: string): Promise<Price | undefined> {
  return (await findPrices(db, [id]))[0];
}

export async function findPrices(db: Queryable, ids: string[]): Promise<Price[]> {
  const { rows } = await db.query<PriceRow>('SELECT * FROM prices WHERE id = ANY($1::uuid[])', [ids]);
  return rows.map(toPrice);
}
