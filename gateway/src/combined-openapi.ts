import { BACKEND_SERVICES, PLATFORM_VERSION, SECURITY_SCHEMES, type BackendServiceName, type ServiceName } from '@codex/shared';

const CACHE_MS = 60_000;

interface ServiceDocument {
  paths?: Record<string, Record<string, { tags?: string[] }>>;
  components?: { schemas?: Record<string, unknown>; responses?: Record<string, unknown> };
}

/** What each group of operations is about (the document's declared tags). */
const TAGS: Record<string, string> = {
  users: "A tenant app's users: sign-up, sign-in, tokens, invitations and management",
  admins: 'Platform admins: sign-in, tokens, signing keys',
  tenants: 'Tenants: provisioning, status and settings (platform admins)',
  'api keys': "Tenants' API keys (platform admins)",
  clients: "A tenant's customers",
  profile: "The signed-in user's own profile",
  content: 'Versioned content entries, published on a schedule',
  'import/export': 'Bulk import and export of clients (client service) and contacts (CRM) as CSV or JSON lines',
  pipelines: 'CRM pipelines and their stages',
  contacts: 'CRM contacts',
  deals: 'CRM deals and their moves between stages',
  activities: 'CRM calls, emails, meetings, notes and tasks',
  health: 'Service health',
  default: 'Other operations',
};

/**
 * The public API in one OpenAPI document: every service's `/api/v1/...`
 * operations (internal routes left out) with their component schemas, the
 * security schemes and declared tags. `missing` names services whose
 * document could not be read.
 */
export function combineDocuments(documents: Partial<Record<BackendServiceName, ServiceDocument>>): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  const responses: Record<string, unknown> = {};
  const usedTags = new Set<string>();
  for (const document of Object.values(documents)) {
    for (const [path, item] of Object.entries(document?.paths ?? {})) {
      if (!path.startsWith('/api/v1/')) continue;
      paths[path] = item;
      for (const operation of Object.values(item)) for (const tag of operation.tags ?? []) usedTags.add(tag);
    }
    Object.assign(schemas, document?.components?.schemas);
    Object.assign(responses, document?.components?.responses);
  }
  const missing = BACKEND_SERVICES.filter((service) => !documents[service]);
  return {
    openapi: '3.0.3',
    info: {
      title: 'Codex Metatron API',
      version: PLATFORM_VERSION,
      description:
        'The public API of the platform, behind one gateway. Tenant apps send X-API-Key with every request and, for a user, Authorization: Bearer <access token>; ' +
        'platform admins send their admin token. Errors always answer { error: { code, message, details?, requestId } }.' +
        (missing.length ? ` Not available right now: ${missing.join(', ')}.` : ''),
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    // Relative: the document is served by the gateway it describes, wherever that runs.
    servers: [{ url: '/', description: 'This gateway' }],
    tags: [...usedTags].sort().map((name) => ({ name, description: TAGS[name] ?? name })),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: { schemas, responses, securitySchemes: { apiKey: SECURITY_SCHEMES.apiKey, bearer: SECURITY_SCHEMES.bearer } },
  };
}

/** The combined document from the running services' `/openapi.json`, cached for a minute. */
export function createCombinedOpenApi(serviceUrls: Record<ServiceName, string>): () => Promise<Record<string, unknown>> {
  let cached: { at: number; document: Promise<Record<string, unknown>> } | undefined;

  const build = async (): Promise<Record<string, unknown>> => {
    const documents = await Promise.all(
      BACKEND_SERVICES.map(async (service) => {
        try {
          const response = await fetch(`${serviceUrls[service]}/openapi.json`, { signal: AbortSignal.timeout(2_000) });
          return [service, response.ok ? ((await response.json()) as ServiceDocument) : undefined] as const;
        } catch {
          return [service, undefined] as const;
        }
      }),
    );
    return combineDocuments(Object.fromEntries(documents.filter(([, document]) => document)));
  };

  return () => {
    if (!cached || Date.now() - cached.at > CACHE_MS) {
      const document = build();
      cached = { at: Date.now(), document };
      // A failed build is not kept.
      document.catch(() => (cached = undefined));
    }
    return cached.document;
  };
}
