import type { Queryable } from './pool';

/**
 * The total behind a page read with `count(*) OVER () AS total_count`. A page
 * past the last row has no row to carry the count, so only then is it counted
 * again, with `countSql` (same filters, same values minus limit and offset).
 */
export async function pageTotal(
  db: Queryable,
  rows: ReadonlyArray<{ total_count?: string | number }>,
  offset: number,
  countSql: string,
  values: unknown[],
): Promise<number> {
  if (rows.length > 0 || offset === 0) return Number(rows[0]?.total_count ?? 0);
  const { rows: counted } = await db.query<{ total_count: string }>(countSql, values);
  return Number(counted[0]?.total_count ?? 0);
}
