import type { Queryable } from '@codex/shared';

export interface TrafficMinute {
  minute: Date;
  requests: number;
  clientErrors: number;
  serverErrors: number;
}

/** Every minute from `from` (inclusive, whole minute) to `to` (exclusive), zero where no gateway counted any. */
export async function trafficByMinute(db: Queryable, from: Date, to: Date): Promise<TrafficMinute[]> {
  const { rows } = await db.query<{ minute: Date; requests: string; client_errors: string; server_errors: string }>(
    `SELECT m.minute, COALESCE(sum(t.requests), 0) AS requests, COALESCE(sum(t.client_errors), 0) AS client_errors,
            COALESCE(sum(t.server_errors), 0) AS server_errors
       FROM generate_series(date_trunc('minute', $1::timestamptz), $2::timestamptz - interval '1 microsecond', interval '1 minute') AS m(minute)
       LEFT JOIN gateway_traffic t ON t.minute = m.minute
      GROUP BY m.minute
      ORDER BY m.minute`,
    [from, to],
  );
  return rows.map((row) => ({
    minute: row.minute,
    requests: Number(row.requests),
    clientErrors: Number(row.client_errors),
    serverErrors: Number(row.server_errors),
  }));
}

/** Per service over [from, to): the services that had requests. */
export async function trafficByService(db: Queryable, from: Date, to: Date): Promise<Array<{ service: string } & Omit<TrafficMinute, 'minute'>>> {
  const { rows } = await db.query<{ service: string; requests: string; client_errors: string; server_errors: string }>(
    `SELECT service, sum(requests) AS requests, sum(client_errors) AS client_errors, sum(server_errors) AS server_errors
       FROM gateway_traffic WHERE minute >= $1 AND minute < $2
      GROUP BY service ORDER BY service`,
    [from, to],
  );
  return rows.map((row) => ({
    service: row.service,
    requests: Number(row.requests),
    clientErrors: Number(row.client_errors),
    serverErrors: Number(row.server_errors),
  }));
}

/** Drops minutes older than `keepDays`. */
export async function pruneTraffic(db: Queryable, keepDays: number): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM gateway_traffic WHERE minute < now() - make_interval(days => $1)`, [keepDays]);
  return rowCount ?? 0;
}
