import { BACKEND_SERVICES, PLATFORM_VERSION, type ServiceName } from '@codex/shared';

const CACHE_MS = 60_000;

interface ServiceDocument {
  paths?: Record<string, unknown>;
}

/**
 * The public API in one OpenAPI document: every service's `/api/v1/...`
 * paths (internal routes left out), with the gateway's security schemes.
 * Services that do not answer are listed as missing rather than failing it.
 */
export function createCombinedOpenApi(serviceUrls: Record<ServiceName, string>): () => Promise<Record<string, unknown>> {
  let cached: { at: number; document: Promise<Record<string, unknown>> } | undefined;

  const build = async (): Promise<Record<string, unknown>> => {
    const documents = await Promise.all(
      BACKEND_SERVICES.map(async (service) => {
        try {
          const response = await fetch(`${serviceUrls[service]}/openapi.json`, { signal: AbortSignal.timeout(2_000) });
          return { service, document: response.ok ? ((await response.json()) as ServiceDocument) : undefined };
        } catch {
          return { service, document: undefined };
        }
      }),
    );
    const paths: Record<string, unknown> = {};
    for (const { document } of documents) {
      for (const [path, item] of Object.entries(document?.paths ?? {})) if (path.startsWith('/api/v1/')) paths[path] = item;
    }
    const missing = documents.filter((d) => !d.document).map((d) => d.service);
    return {
      openapi: '3.0.3',
      info: {
        title: 'Codex Metatron API',
        version: PLATFORM_VERSION,
        description: `Send X-API-Key with every tenant request and Authorization: Bearer <access token> for a user's requests.${missing.length ? ` Not available right now: ${missing.join(', ')}.` : ''}`,
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
      security: [{ apiKey: [], bearer: [] }],
      paths,
    };
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
