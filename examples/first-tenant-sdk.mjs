// The same first steps from Node.js with the typed SDK: a user, a client, every client paged through, a deal moved.
//   npm run build -w sdk
//   CDX_API_KEY=cmk_… node examples/first-tenant-sdk.mjs
// CDX_API_URL defaults to http://127.0.0.1:3000; EMAIL and PASSWORD to a new user of the tenant.
import { createCodexClient, isCodexApiError } from '@codex-metatron/sdk';

const cdx = createCodexClient({
  baseUrl: process.env.CDX_API_URL ?? 'http://127.0.0.1:3000',
  apiKey: process.env.CDX_API_KEY,
  // Keep the newest tokens wherever your app keeps sessions; the SDK refreshes them itself.
  onSessionChange: (session) => console.log(session ? 'session renewed' : 'session ended'),
});

const email = process.env.EMAIL ?? `user-${Date.now()}@example.com`;
const password = process.env.PASSWORD ?? 'correct horse battery';
try {
  await cdx.signUp({ email, password });
} catch (error) {
  // Already there (409 EMAIL_TAKEN): sign in instead.
  if (!isCodexApiError(error, 'EMAIL_TAKEN')) throw error;
  await cdx.signIn(email, password);
}

const client = await cdx.post('/api/v1/client/clients', { body: { name: 'Globex Corporation', tags: ['from-sdk'] } });
console.log('client', client.id, client.name);

let count = 0;
for await (const each of cdx.each((cursor) => cdx.get('/api/v1/client/clients', { params: { query: { cursor, limit: 50 } } }))) {
  count += 1;
  if (count <= 3) console.log(' -', each.name);
}
console.log(`${count} clients in all`);

const { items: pipelines } = await cdx.get('/api/v1/crm/pipelines');
const pipeline = pipelines.find((each) => each.isDefault) ?? pipelines[0];
const [first, second] = [...pipeline.stages].sort((a, b) => a.position - b.position);
const deal = await cdx.post('/api/v1/crm/deals', {
  body: { title: 'First deal', valueMinor: 120000, currency: 'EUR', clientId: client.id, pipelineId: pipeline.id, stageId: first.id },
});
const moved = await cdx.post('/api/v1/crm/deals/{id}/move', { params: { path: { id: deal.id } }, body: { stageId: second.id, version: deal.version } });
console.log(`deal "${moved.title}" is now in ${second.name}`);

try {
  await cdx.post('/api/v1/client/clients', { body: { name: '' } });
} catch (error) {
  if (!isCodexApiError(error, 'VALIDATION_FAILED')) throw error;
  console.log('refused as expected:', error.fieldErrors());
}

const { flags } = await cdx.flags();
console.log('flags', flags);
