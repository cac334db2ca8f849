import { readFileSync } from 'node:fs';
import path from 'node:path';
import type request from 'supertest';
import type { PlatformTenant } from './platform';
import type { JsonSchema } from './schema-arbitrary';

export interface DocumentedOperation {
  operationId: string;
  'x-access': 'public' | 'apiKey' | 'user' | 'admin';
  parameters?: Array<{ name: string; in: 'path' | 'query'; required?: boolean; schema: JsonSchema }>;
  requestBody?: { content: Record<string, { schema?: JsonSchema }> };
}

/** The checked-in contract, as the tests read it. */
export const DOCUMENT = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'docs', 'openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, DocumentedOperation>>;
  components: { schemas: Record<string, JsonSchema> };
};

/** Every documented operation: method, path template and its description. */
export const OPERATIONS = Object.entries(DOCUMENT.paths).flatMap(([template, item]) =>
  Object.entries(item).map(([method, operation]) => ({ method: method as 'get' | 'post' | 'put' | 'patch' | 'delete', template, operation })),
);

/** A request carrying the credentials the operation's access names: the tenant's key and owner token, or an operator's. */
export function withCredentials(call: request.Test, operation: DocumentedOperation, tenant: PlatformTenant, operatorToken: string): request.Test {
  const access = operation['x-access'];
  if (access === 'apiKey' || access === 'user') call.set('X-API-Key', tenant.key);
  if (access === 'user') call.set('Authorization', `Bearer ${tenant.token}`);
  if (access === 'admin') call.set('Authorization', `Bearer ${operatorToken}`);
  return call;
}
