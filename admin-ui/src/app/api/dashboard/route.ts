import { type NextRequest, NextResponse } from 'next/server';
import { ACCESS_COOKIE } from '@/server/session';
import { answerForUnreachable, callGatewayJson } from '@/server/gateway';
import { TENANT_STATUSES, type DashboardSnapshot, type ServiceStatus, type TenantStatus, type Traffic } from '@/lib/types';

/**
 * The dashboard's numbers in one answer, read at one moment (`fetchedAt`), each from a named API call
 * of the platform (`sources`), so the page's "updated" label is true for all of them at once.
 */
export async function GET(request: NextRequest): Promise<NextResponse> {
  // A gateway that has not answered within 4 s is shown as unreachable, rather than a refresh hanging for 30.
  const call = <T>(path: string) =>
    callGatewayJson<T>(path, { accessToken: request.cookies.get(ACCESS_COOKIE)?.value, from: request.headers, timeoutMs: 4_000 });
  const servicesPath = '/api/v1/admin/services';
  const trafficPath = '/api/v1/admin/traffic?minutes=60';
  const tenantsPath = (status: TenantStatus) => `/api/v1/admin/tenants?status=${status}&limit=1`;
  try {
    const [services, traffic, ...counts] = await Promise.all([
      call<{ items: ServiceStatus[] }>(servicesPath),
      call<Traffic>(trafficPath),
      ...TENANT_STATUSES.map((status) => call<{ total: number }>(tenantsPath(status))),
    ]);
    const failed = [services, traffic, ...counts].find((answer) => answer.status !== 200);
    if (failed) return NextResponse.json(failed.body, { status: failed.status });
    const snapshot: DashboardSnapshot = {
      fetchedAt: new Date().toISOString(),
      services: services.body.items,
      tenantsByStatus: Object.fromEntries(TENANT_STATUSES.map((status, index) => [status, counts[index]!.body.total])) as Record<TenantStatus, number>,
      traffic: traffic.body,
      sources: [`GET ${servicesPath}`, `GET ${trafficPath}`, ...TENANT_STATUSES.map((status) => `GET ${tenantsPath(status)}`)],
    };
    return NextResponse.json(snapshot, { headers: { 'cache-control': 'no-store' } });
  } catch (err) {
    return answerForUnreachable(err);
  }
}
