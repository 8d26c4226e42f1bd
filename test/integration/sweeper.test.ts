/**
 * The sweeper against DynamoDB Local and the loopback Order Management: it cannot be starved. A
 * new order behind 5 000 stuck ones (Klarna answers 404 for them) is read on the next run, the
 * awaiting count covers all of them, and an order that keeps failing is given up after a bounded
 * number of tries: set aside for review (`sweep_gave_up`), out of the waiting set, counted.
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { createTables, startDynamoDb, type RunningDynamoDb } from '../../bin/local/dynamodb-local.js';
import { exampleOmOrder, startFakeOrderManagement, type FakeOrderManagement } from '../../bin/local/fake-order-management.js';
import { ordersTable, rulesTable } from '../../lib/tables.js';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { DynamoDbRulesSource, putRules } from '../../functions/shared/rules-store.js';
import { createOrderManagementClient } from '../../functions/orders/order-management.js';
import { DynamoDbOrdersStore } from '../../functions/orders/orders-store.js';
import { processOrder, type ProcessDeps } from '../../functions/orders/process.js';
import { SWEEP_GAVE_UP, sweep, type SweepOptions } from '../../functions/orders/sweep.js';

jest.setTimeout(120_000);

const suffix = randomUUID().slice(0, 8);
const ORDERS = `sweeper-orders-${suffix}`;
const RULES = `sweeper-rules-${suffix}`;
const MINUTE = 60_000;

let db: RunningDynamoDb;
let fake: FakeOrderManagement;
let client: ReturnType<typeof createDocumentClient>;
let deps: ProcessDeps;
const savedEnv = { ...process.env };

beforeAll(async () => {
  // Seeding 5 000 items keeps DynamoDB Local busy: seconds per call, not Klarna's 3 s budget.
  process.env.DYNAMODB_REQUEST_TIMEOUT_MS = '5000';
  db = await startDynamoDb();
  await createTables(db.endpoint, [ordersTable, rulesTable], (def) => (def === ordersTable ? ORDERS : RULES));
  fake = await startFakeOrderManagement();
  client = createDocumentClient(db.endpoint);
  expect((await putRules(client, RULES, 'default', {}, { updatedBy: 'sweeper test' })).ok).toBe(true);
  const rules = new DynamoDbRulesSource(client, RULES, { cacheSeconds: 0, staleSeconds: 0, now: Date.now });
  deps = {
    om: createOrderManagementClient({ baseUrl: fake.url, authorization: () => Promise.resolve('Basic dGVzdDp0ZXN0'), timeoutMs: 1500, maxAttempts: 1, backoffMs: 10 }),
    store: new DynamoDbOrdersStore(client, ORDERS),
    rulesFor: (orderId) => rules.rulesFor(orderId),
    now: Date.now,
    retentionMs: 90 * 24 * 60 * MINUTE,
    log: () => undefined,
  };
});

afterAll(async () => {
  await fake?.close();
  client?.destroy();
  await db?.stop();
  process.env = savedEnv;
});

const item = async (orderId: string) => (await client.send(new GetCommand({ TableName: ORDERS, Key: { order_id: orderId }, ConsistentRead: true }))).Item;

/** Orders recorded two hours ago, tried once already, that Klarna no longer knows. */
const seedStuck = async (count: number): Promise<void> => {
  const recordedAt = new Date(Date.now() - 120 * MINUTE).toISOString();
  const items = Array.from({ length: count }, (_, i) => ({
    order_id: `stuck-${suffix}-${String(i).padStart(5, '0')}`,
    status: 'recorded',
    fraud_status: 'ACCEPTED',
    order_amount: 100,
    purchase_currency: 'SEK',
    order_lines: [],
    recorded_at: recordedAt,
    updated_at: recordedAt,
    version: 1,
    awaiting: 'recorded',
    sweep_tries: 1,
  }));
  for (let i = 0; i < items.length; i += 25) {
    let pending: Record<string, unknown>[] = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    while (pending.length > 0) {
      const output = await client.send(new BatchWriteCommand({ RequestItems: { [ORDERS]: pending as never } }));
      pending = (output.UnprocessedItems?.[ORDERS] ?? []) as Record<string, unknown>[];
    }
  }
};

/** An order recorded now but not acknowledged (Klarna's acknowledge failed). */
const recordUnacknowledged = async (): Promise<string> => {
  const id = `order-${randomUUID()}`;
  fake.putOrder(exampleOmOrder(id));
  fake.failAlways('acknowledge', { status: 503 });
  expect(await processOrder(id, 'push', Date.now() + 5000, deps)).toMatchObject({ kind: 'retry', step: 'acknowledge' });
  fake.clearFaults();
  return id;
};

const options = (overrides: Partial<SweepOptions> & Pick<SweepOptions, 'deadline'>): SweepOptions => ({
  afterMs: 30 * MINUTE,
  limit: 50,
  perOrderMs: 4000,
  maxTries: 100,
  maxAgeMs: 48 * 60 * MINUTE,
  ...overrides,
});

it('an order that keeps failing is given up after the tries allowed: needs_review with sweep_gave_up, out of the waiting set', async () => {
  const id = await recordUnacknowledged();
  fake.failAlways('get', { status: 503 });
  try {
    const later = { ...deps, now: () => Date.now() + 31 * MINUTE };
    const first = await sweep(later, options({ limit: 1, maxTries: 2, deadline: later.now() + 60_000 }));
    expect(first.gaveUp).toBe(0);
    expect(await item(id)).toMatchObject({ status: 'recorded', sweep_tries: 1 });
    const second = await sweep(later, options({ limit: 1, maxTries: 2, deadline: later.now() + 60_000 }));
    expect(second.gaveUp).toBe(1);
    expect(await item(id)).toMatchObject({ status: 'needs_review', review_reason: SWEEP_GAVE_UP });
    expect((await item(id))?.awaiting).toBeUndefined();
    expect(fake.acknowledgeCalls(id)).toBe(1);
  } finally {
    fake.clearFaults();
  }
});

it('an order older than the age allowed is given up on its first failing try', async () => {
  const id = await recordUnacknowledged();
  fake.failAlways('get', { status: 503 });
  try {
    const muchLater = { ...deps, now: () => Date.now() + 49 * 60 * MINUTE };
    const result = await sweep(muchLater, options({ limit: 1, deadline: muchLater.now() + 60_000 }));
    expect(result.gaveUp).toBe(1);
    expect(await item(id)).toMatchObject({ status: 'needs_review', review_reason: SWEEP_GAVE_UP });
  } finally {
    fake.clearFaults();
  }
});

it('a new order behind 5 000 stuck ones is acknowledged on the next run, and every waiting order is counted', async () => {
  await seedStuck(5000);
  const id = await recordUnacknowledged();
  // A run 31 minutes later: the new order is old enough to sweep.
  const later = { ...deps, now: () => Date.now() + 31 * MINUTE };
  const result = await sweep(later, options({ deadline: later.now() + 60_000 }));
  expect(result.found).toBe(5001);
  expect(result.acknowledged).toBe(1);
  expect(result.stillWaiting).toBe(5000);
  expect(await item(id)).toMatchObject({ status: 'acknowledged' });
  expect(fake.acknowledgements(id)).toBe(1);
});
