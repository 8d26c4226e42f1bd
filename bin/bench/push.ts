/**
 * `LOG_LEVEL=SILENT npx tsx bin/bench/push.ts`: what a push costs when the work is done within the request, on this
 * machine, against DynamoDB Local (behind the counting proxy) and the Order Management stand-in:
 * requests per push to Klarna and to DynamoDB, and the push's latency, for a first push (read,
 * record, check, acknowledge) and a repeated one (already acknowledged). Loopback only; it stops
 * by itself after PUSH_BENCH_ORDERS orders (default 100).
 */
import { randomUUID } from 'node:crypto';
import { createTables, startDynamoDb } from '../local/dynamodb-local.js';
import { exampleOmOrder, startFakeOrderManagement } from '../local/fake-order-management.js';
import { startLocalServer } from '../local/server.js';
import { ordersTable, rulesTable } from '../../lib/tables.js';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { putRules } from '../../functions/shared/rules-store.js';
import { startCountingProxy } from './proxy.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const orders = Number(process.env.PUSH_BENCH_ORDERS ?? 100);

const db = await startDynamoDb();
const proxy = await startCountingProxy(db.endpoint);
await createTables(db.endpoint, [ordersTable, rulesTable], (def) => (def === ordersTable ? 'bench-orders' : 'bench-rules'));
const om = await startFakeOrderManagement();
Object.assign(process.env, {
  DYNAMODB_ENDPOINT: proxy.url,
  ORDERS_TABLE: 'bench-orders',
  RULES_TABLE: 'bench-rules',
  RULES_CACHE_SECONDS: '5',
  KCO_CALLBACK_TOKENS: 'bench',
  KCO_API_BASE_URL: om.url,
  DYNAMODB_REQUEST_TIMEOUT_MS: '5000',
});
const client = createDocumentClient(db.endpoint);
await putRules(client, 'bench-rules', 'default', {}, { updatedBy: 'bench' });
client.destroy();
const server = await startLocalServer({ port: 0 });

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

const pushOnce = async (id: string): Promise<{ ms: number; status: number }> => {
  const started = performance.now();
  const response = await fetch(`${server.url}/kco/orders/${id}/push?token=bench`, { method: 'POST' });
  await response.text();
  return { ms: performance.now() - started, status: response.status };
};

// Warm-up: the handler module's first load and the first connections are not what a push costs.
const warm = `warm-${randomUUID()}`;
om.putOrder(exampleOmOrder(warm));
await pushOnce(warm);

const results = { first: [] as number[], repeat: [] as number[] };
const requests = { firstKlarna: 0, firstDynamo: {} as Record<string, number>, repeatKlarna: 0, repeatDynamo: {} as Record<string, number> };
const add = (into: Record<string, number>, counts: Record<string, number>): void => {
  for (const [op, n] of Object.entries(counts)) into[op] = (into[op] ?? 0) + n;
};
let failures = 0;
for (let i = 0; i < orders; i += 1) {
  const id = `bench-${randomUUID()}`;
  om.putOrder(exampleOmOrder(id));
  for (const kind of ['first', 'repeat'] as const) {
    proxy.reset();
    const before = om.requests.length;
    const { ms, status } = await pushOnce(id);
    if (status !== 200) failures += 1;
    results[kind].push(ms);
    requests[kind === 'first' ? 'firstKlarna' : 'repeatKlarna'] += om.requests.length - before;
    add(kind === 'first' ? requests.firstDynamo : requests.repeatDynamo, proxy.counts());
  }
}
const per = (record: Record<string, number>): string =>
  Object.entries(record)
    .map(([op, n]) => `${op} ${(n / orders).toFixed(2)}`)
    .join(', ');
const row = (label: string, values: number[], klarna: number, dynamo: Record<string, number>): string =>
  `| ${label} | ${(klarna / orders).toFixed(2)} | ${per(dynamo)} | ${percentile(values, 50).toFixed(1)} ms | ${percentile(values, 99).toFixed(1)} ms |`;
process.stdout.write(
  [
    `${orders} orders, each pushed twice; answers other than 200: ${failures}`,
    '| push | Klarna requests | DynamoDB requests | p50 | p99 |',
    '|---|---|---|---|---|',
    row('first (read, record, check, acknowledge)', results.first, requests.firstKlarna, requests.firstDynamo),
    row('repeated (already acknowledged)', results.repeat, requests.repeatKlarna, requests.repeatDynamo),
    '',
  ].join('\n'),
);
await server.close();
await om.close();
(await import('../../functions/shared/dynamodb.js')).documentClient().destroy();
await proxy.close();
await db.stop();
