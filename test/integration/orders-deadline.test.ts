/**
 * Push and notification inside the Lambda's time with Order Management hanging and DynamoDB slow
 * (DynamoDB Local behind a loopback proxy that holds each call 650 ms): every DynamoDB call counts
 * against the pass's deadline, so the answer is a 503 before the function would time out, never
 * a timeout (a 502 from API Gateway when deployed). The Lambda context below has the deployed
 * order functions' 10 s; ORDERS_WORK_MS is left at its default.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { createTables, startDynamoDb, type RunningDynamoDb } from '../../bin/local/dynamodb-local.js';
import { exampleOmOrder, startFakeOrderManagement, type FakeOrderManagement } from '../../bin/local/fake-order-management.js';
import { startSlowProxy, type SlowProxy } from '../../bin/local/slow-proxy.js';
import { apiGatewayEvent, lambdaContext } from '../../bin/local/server.js';
import { ordersTable, rulesTable } from '../../lib/tables.js';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { putRules } from '../../functions/shared/rules-store.js';
import { captureLogs } from '../support/log-capture.js';
import { logger } from '../../functions/shared/log.js';

jest.setTimeout(60_000);

const TOKEN = 'deadline-test-token';
const suffix = randomUUID().slice(0, 8);
const ORDERS = `orders-deadline-${suffix}`;
const RULES = `rules-deadline-${suffix}`;
/** The deployed order functions' timeout (lib/klarna-function.ts orderFunctionTimeout). */
const LAMBDA_TIMEOUT_MS = 10_000;

let db: RunningDynamoDb;
let slow: SlowProxy;
let fake: FakeOrderManagement;
const savedEnv = { ...process.env };
const logs = captureLogs();
beforeEach(() => logger.setLogLevel('INFO'));
afterEach(() => logger.setLogLevel('SILENT'));

/** A Lambda context whose time runs out LAMBDA_TIMEOUT_MS after the call, as Lambda's does. */
const contextWithTimeout = (timeoutMs: number): Context => {
  const started = Date.now();
  return { ...lambdaContext('OrderPushFunction'), getRemainingTimeInMillis: () => timeoutMs - (Date.now() - started) };
};

beforeAll(async () => {
  db = await startDynamoDb();
  await createTables(db.endpoint, [ordersTable, rulesTable], (def) => (def === ordersTable ? ORDERS : RULES));
  const client = createDocumentClient(db.endpoint);
  expect((await putRules(client, RULES, 'default', {}, { updatedBy: 'deadline test' })).ok).toBe(true);
  client.destroy();
  slow = await startSlowProxy(db.endpoint, 0);
  fake = await startFakeOrderManagement();
  Object.assign(process.env, {
    DYNAMODB_ENDPOINT: slow.url,
    ORDERS_TABLE: ORDERS,
    RULES_TABLE: RULES,
    RULES_CACHE_SECONDS: '0',
    KCO_CALLBACK_TOKENS: TOKEN,
    KCO_API_BASE_URL: fake.url,
    KCO_API_USERNAME: 'K123_test',
    KCO_API_PASSWORD: 'test-password',
    // Each call answers (slowly) inside its own request timeout: only the pass's deadline can stop it.
    DYNAMODB_REQUEST_TIMEOUT_MS: '5000',
  });
});

afterAll(async () => {
  await fake?.close();
  (await import('../../functions/shared/dynamodb.js')).documentClient().destroy();
  await slow?.close();
  await db?.stop();
  process.env = savedEnv;
});

const call = async (route: 'push' | 'notification', orderId: string, timeoutMs: number) => {
  const { orderHandler } = await import('../../functions/orders/handlers/order-handler.js');
  const handler = orderHandler(route);
  const context = contextWithTimeout(timeoutMs);
  const event = apiGatewayEvent({
    method: 'POST',
    resource: `/kco/orders/{order_id}/${route}`,
    path: `/kco/orders/${orderId}/${route}`,
    pathParameters: { order_id: orderId },
    query: { token: TOKEN },
    ...(route === 'notification' ? { body: JSON.stringify({ order_id: orderId, event_type: 'FRAUD_RISK_ACCEPTED' }), headers: { 'content-type': 'application/json' } } : {}),
  });
  const answer = await handler(event, context);
  return { status: answer.statusCode, remainingMs: context.getRemainingTimeInMillis() };
};

describe.each(['push', 'notification'] as const)('%s with Order Management hanging and DynamoDB at 650 ms a call', (route) => {
  // The deployed timeout, and an invocation with 4 s left: there the DynamoDB calls before and
  // after Klarna's (record, rules, lease, release) are most of the time.
  it.each([LAMBDA_TIMEOUT_MS, 4000])('answers 503 before a %i ms Lambda timeout and logs why', async (timeoutMs) => {
    const id = `order-${randomUUID()}`;
    fake.putOrder(exampleOmOrder(id));
    fake.failAlways('acknowledge', { hang: true });
    slow.delayMs = 650;
    try {
      const answer = await call(route, id, timeoutMs);
      expect(answer.status).toBe(503);
      // Still time left when the answer was ready: the function did not time out.
      expect(answer.remainingMs).toBeGreaterThan(0);
      const steps = logs.entries<{ step?: string; outcome?: string }>();
      expect(steps.some((e) => e.step === 'acknowledge_failed')).toBe(true);
      expect(steps.find((e) => e.outcome !== undefined)?.outcome).toBe('retry');
    } finally {
      slow.delayMs = 0;
      fake.clearFaults();
    }
  });
});

it('a DynamoDB slower than the time left: the call is aborted at the deadline, 503 and a warning, not an error', async () => {
  const id = `order-${randomUUID()}`;
  fake.putOrder(exampleOmOrder(id));
  slow.delayMs = 3000;
  try {
    const answer = await call('push', id, 4000);
    expect(answer.status).toBe(503);
    expect(answer.remainingMs).toBeGreaterThan(0);
    const entries = logs.entries<{ level?: string; message?: string; reason?: string }>();
    expect(entries.find((e) => e.message === 'order request ran out of time')).toMatchObject({ level: 'WARN', reason: 'deadline' });
    expect(entries.some((e) => e.level === 'ERROR')).toBe(false);
  } finally {
    slow.delayMs = 0;
  }
});
