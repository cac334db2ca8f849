import type { Queryable } from '@codex/shared';
import { pruneTraffic, trafficByMinute, trafficByService } from '../db/traffic-repo';

const MINUTE_MS = 60_000;
/** Kept for the console's charts and a look back; Prometheus (/metrics) is the place for long history. */
export const TRAFFIC_KEEP_DAYS = 30;

/**
 * The last `minutes` whole minutes through every gateway, and the one under way (`current`, still
 * growing), with the totals the dashboard shows: requests in the last whole minute and the share of
 * 5xx answers over the range.
 */
export async function recentTraffic(db: Queryable, minutes: number, now = new Date()) {
  const currentMinute = new Date(now.getTime() - (now.getTime() % MINUTE_MS));
  const from = new Date(currentMinute.getTime() - minutes * MINUTE_MS);
  const [series, byService] = await Promise.all([
    trafficByMinute(db, from, new Date(currentMinute.getTime() + MINUTE_MS)),
    trafficByService(db, from, currentMinute),
  ]);
  const whole = series.slice(0, -1);
  const current = series.at(-1)!;
  const requests = whole.reduce((sum, minute) => sum + minute.requests, 0);
  const serverErrors = whole.reduce((sum, minute) => sum + minute.serverErrors, 0);
  const clientErrors = whole.reduce((sum, minute) => sum + minute.clientErrors, 0);
  const toJson = (minute: (typeof series)[number]) => ({ ...minute, minute: minute.minute.toISOString() });
  return {
    from: from.toISOString(),
    to: currentMinute.toISOString(),
    lastMinuteRequests: whole.at(-1)?.requests ?? 0,
    requests,
    serverErrorPercent: requests === 0 ? 0 : (serverErrors / requests) * 100,
    clientErrorPercent: requests === 0 ? 0 : (clientErrors / requests) * 100,
    items: whole.map(toJson),
    current: toJson(current),
    services: byService.map((service) => ({ ...service, serverErrorPercent: service.requests === 0 ? 0 : (service.serverErrors / service.requests) * 100 })),
  };
}

export function pruneOldTraffic(db: Queryable): Promise<number> {
  return pruneTraffic(db, TRAFFIC_KEEP_DAYS);
}
