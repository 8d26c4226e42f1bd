/**
 * The push and notification routes through the local server, against DynamoDB Local and the
 * loopback Order Management stand-in: exactly one order item and one acknowledgement however
 * often and however concurrently Klarna pushes; failures that leave the order for the next
 * attempt; a function dying between the write and the acknowledgement.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { exampleOmOrder } from '../../bin/local/fake-order-management.js';
import { lambdaContext } from '../../bin/local/server.js';
import { ordersTable, rulesTable } from '../../lib/tables.js';
import { putRules } from '../../functions/shared/rules-store.js';
import { orderScope } from '../../functions/kco/rules.js';
import { startLocalOrders, type LocalOrders } from '../support/local-orders.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(60_000);

const TOKEN = 'orders-test-token';
const suffix = randomUUID().slice(0, 8);
const ORDERS = `orders-test-${suffix}`;
const RULES = `orders-rules-${suffix}`;

let orders: LocalOrders;
let fake: LocalOrders['fake'];
let server: LocalOrders['server'];
let client: LocalOrders['client'];
let bus: LocalOrders['bus'];
let stream: LocalOrders['stream'];
let sqs: LocalOrders['sqs'];

beforeAll(async () => {
  orders = await startLocalOrders({
    tables: [
      [ordersTable, ORDERS],
      [rulesTable, RULES],
    ],
    token: TOKEN,
    busName: 'orders-test-bus',
    refusedQueue: 'refused-order-events',
    rulesBy: 'orders test',
    stream: { table: ordersTable, publisher: () => import('../../functions/orders/handlers/publish-events.js') },
  });
  ({ fake, server, client, bus, stream, sqs } = orders);
});

afterAll(() => orders?.stop());

beforeEach(() => fake.clearFaults());

const newOrderId = (): string => `order-${randomUUID()}`;

const post = async (orderId: string, route: 'push' | 'notification', body?: unknown, token = TOKEN) => {
  const response = await fetch(`${server.url}/kco/orders/${encodeURIComponent(orderId)}/${route}?token=${encodeURIComponent(token)}`, {
    method: 'POST',
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const push = (orderId: string, token?: string) => post(orderId, 'push', undefined, token);

/** A push handled by a function whose clock is a minute ahead: any earlier pass's lease has run out by it. */
const pushAMinuteLater = async (orderId: string) => {
  const { orderHandler } = await import('../../functions/orders/handlers/order-handler.js');
  const { defaultDeps } = await import('../../functions/orders/handlers/deps.js');
  const { apiGatewayEvent } = await import('../../bin/local/server.js');
  const later = orderHandler('push', () => ({ ...defaultDeps(), now: () => Date.now() + 60_000 }));
  const event = apiGatewayEvent({ method: 'POST', resource: '/kco/orders/{order_id}/push', path: `/kco/orders/${orderId}/push`, pathParameters: { order_id: orderId }, query: { token: TOKEN } });
  return later(event, lambdaContext('OrderPushFunction'));
};

/**
 * Pushes a new order whose acknowledgement Klarna holds 1.5 s, and changes its rules (19 900
 * expected) while it is held. Returns once the rules are changed, with the push's answer to come.
 */
const pushWithRulesChangedDuringAcknowledge = async (orderId: string): Promise<{ first: ReturnType<typeof push> }> => {
  fake.putOrder(exampleOmOrder(orderId));
  fake.failNext('acknowledge', { delayMs: 1500 });
  const first = push(orderId);
  await fake.waitForRequest('acknowledge', orderId);
  expect((await putRules(client, RULES, orderScope(orderId), { expected_order_amount: 19900 }, { updatedBy: 'orders test' })).ok).toBe(true);
  return { first };
};
const notify = (orderId: string, eventType: string) => post(orderId, 'notification', { order_id: orderId, event_type: eventType });

/** The events published for an order so far, after the stream has been read to its end. */
const eventsFor = async (orderId: string): Promise<string[]> => {
  await stream.drain();
  return bus.events.filter((e) => e.detail.order_id === orderId).map((e) => `${String(e.detail.sequence)} ${e.detailType}`);
};

const item = async (orderId: string): Promise<Record<string, unknown> | undefined> =>
  (await client.send(new GetCommand({ TableName: ORDERS, Key: { order_id: orderId }, ConsistentRead: true }))).Item;

const itemsFor = async (orderId: string): Promise<number> =>
  ((await client.send(new ScanCommand({ TableName: ORDERS, ConsistentRead: true }))).Items ?? []).filter((i) => i.order_id === orderId).length;

describe('push', () => {
  it('reads, records and acknowledges an order, keeping the shipping address but no e-mail, phone or billing address', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id));
    expect(await push(id)).toEqual({ status: 200, body: { order_id: id, status: 'acknowledged' } });
    const stored = await item(id);
    expect(stored).toMatchObject({
      order_id: id,
      status: 'acknowledged',
      fraud_status: 'ACCEPTED',
      klarna_status: 'AUTHORIZED',
      order_amount: 29900,
      original_order_amount: 29900,
      purchase_currency: 'SEK',
      merchant_reference1: `shop-${id}`,
      klarna_created_at: '2026-12-02T08:00:00.000Z',
      version: 2,
      shipping_address: { given_name: 'Testperson-se', family_name: 'Approved', street_address: 'Stårgatan 1', postal_code: '12345', city: 'Ankeborg', country: 'SE' },
    });
    expect(stored?.order_lines).toHaveLength(2);
    expect(JSON.stringify(stored)).not.toMatch(/email|phone|date_of_birth|billing_address/);
    expect(stored?.awaiting).toBeUndefined();
    expect(typeof stored?.purge_at).toBe('number');
    expect(fake.acknowledgements(id)).toBe(1);
  });

  it('ten identical pushes, some concurrent, with a notification among them: one item, one acknowledgement', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id, { fraud_status: 'PENDING' }));
    const first = await Promise.all([push(id), push(id), push(id), push(id)]);
    expect(first.every((r) => r.status === 200 || r.status === 202)).toBe(true);
    fake.updateOrder(id, { fraud_status: 'ACCEPTED' });
    const second = await Promise.all([push(id), push(id), notify(id, 'FRAUD_RISK_ACCEPTED'), push(id)]);
    expect(second.map((r) => r.status).every((s) => s === 200 || s === 202)).toBe(true);
    for (let i = 0; i < 2; i += 1) expect((await push(id)).status).toBe(200);
    expect(await itemsFor(id)).toBe(1);
    expect(fake.acknowledgeCalls(id)).toBe(1);
    expect(await item(id)).toMatchObject({ status: 'acknowledged', fraud_status: 'ACCEPTED', version: 3 });
    expect(await eventsFor(id)).toEqual(['1 Order Recorded', '2 Order Acknowledged', '3 Order Fraud Status Changed']);
    const [recorded, acknowledged, fraud] = bus.events.filter((e) => e.detail.order_id === id);
    expect(recorded).toMatchObject({ source: 'klarna-serverless', eventBusName: 'orders-test-bus', detail: { fraud_status: 'PENDING', may_ship: false } });
    expect(acknowledged?.detail).toMatchObject({ status: 'acknowledged', fraud_status: 'PENDING', may_ship: false });
    expect(fraud?.detail).toMatchObject({ previous_fraud_status: 'PENDING', fraud_status: 'ACCEPTED', may_ship: true });
  });

  it('Klarna failing and then recovering gives one acknowledgement', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id));
    fake.failAlways('get', { status: 503 });
    expect((await push(id)).status).toBe(503);
    expect(await item(id)).toBeUndefined();
    fake.clearFaults();
    fake.failAlways('acknowledge', { hang: true });
    expect((await push(id)).status).toBe(503);
    expect(await item(id)).toMatchObject({ status: 'recorded', awaiting: 'recorded' });
    fake.clearFaults();
    fake.failNext('acknowledge', { status: 500 });
    expect(await push(id)).toEqual({ status: 200, body: { order_id: id, status: 'acknowledged' } });
    expect(fake.acknowledgements(id)).toBe(1);
    expect(await item(id)).toMatchObject({ status: 'acknowledged', version: 2 });
  });

  it('an unknown order: 404, no item, no acknowledgement, and no retry of the read', async () => {
    const id = newOrderId();
    expect(await push(id)).toEqual({ status: 404, body: { error: 'Unknown order' } });
    expect(await item(id)).toBeUndefined();
    expect(fake.requests.filter((r) => r.orderId === id).map((r) => r.call)).toEqual(['get']);
    expect(await eventsFor(id)).toEqual([]);
  });

  it('an order that differs from its rules is set aside for review and not acknowledged', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id));
    const stored = await putRules(client, RULES, orderScope(id), { expected_order_amount: 19900 }, { updatedBy: 'orders test' });
    expect(stored.ok).toBe(true);
    expect(await push(id)).toEqual({ status: 200, body: { order_id: id, status: 'needs_review' } });
    expect(await item(id)).toMatchObject({ status: 'needs_review', review_reason: 'expected_amount_mismatch', version: 2 });
    expect(fake.acknowledgeCalls(id)).toBe(0);
    expect(await eventsFor(id)).toEqual(['1 Order Recorded', '2 Order Needs Review']);
    const reads = fake.requests.filter((r) => r.orderId === id).length;
    expect((await push(id)).body).toEqual({ order_id: id, status: 'needs_review' });
    expect(fake.requests.filter((r) => r.orderId === id).length).toBe(reads);
  });

  it('a cart that differs from expected_order_lines is set aside as cart_mismatch', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id));
    const expected = [{ reference: 'TSHIRT-1', quantity: 3, total_amount: 37500 }];
    expect((await putRules(client, RULES, orderScope(id), { expected_order_lines: expected }, { updatedBy: 'orders test' })).ok).toBe(true);
    expect((await push(id)).body).toEqual({ order_id: id, status: 'needs_review' });
    expect(await item(id)).toMatchObject({ status: 'needs_review', review_reason: 'cart_mismatch' });
    expect(fake.acknowledgeCalls(id)).toBe(0);
  });

  it('an order whose lines match expected_order_lines is acknowledged', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id));
    const expected = [{ reference: 'TSHIRT-1', quantity: 2, total_amount: 25000 }, { reference: 'standard', quantity: 1, total_amount: 4900 }];
    expect((await putRules(client, RULES, orderScope(id), { expected_order_lines: expected, expected_order_amount: 29900 }, { updatedBy: 'orders test' })).ok).toBe(true);
    expect((await push(id)).body).toEqual({ order_id: id, status: 'acknowledged' });
  });

  it('refuses a wrong token before anything is read', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id));
    expect(await push(id, 'wrong')).toEqual({ status: 401, body: { error: 'Unauthorized' } });
    expect(fake.requests.filter((r) => r.orderId === id)).toEqual([]);
  });

  it.each(['.', '..', '...'])('refuses the order id %j with 400 at the API Gateway event, before any call', async (orderId) => {
    const { handler } = await import('../../functions/orders/handlers/push.js');
    const { apiGatewayEvent } = await import('../../bin/local/server.js');
    const before = fake.requests.length;
    const event = apiGatewayEvent({ method: 'POST', resource: '/kco/orders/{order_id}/push', path: `/kco/orders/${orderId}/push`, pathParameters: { order_id: orderId }, query: { token: TOKEN } });
    const answer = await handler(event, lambdaContext('OrderPushFunction'));
    expect(answer.statusCode).toBe(400);
    expect(fake.requests.length).toBe(before);
    expect(await item(orderId)).toBeUndefined();
  });

  it('a function dying between the write and the acknowledgement: the next attempt acknowledges', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id));
    fake.failAlways('acknowledge', { hang: true });
    // A separate process runs the push handler and is killed while Klarna's acknowledge hangs.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '-e', `const { handler } = await import('./functions/orders/handlers/push.ts'); const { apiGatewayEvent, lambdaContext } = await import('./bin/local/server.ts'); await handler(apiGatewayEvent({ method: 'POST', resource: '/kco/orders/{order_id}/push', path: '/kco/orders/${id}/push', pathParameters: { order_id: '${id}' }, query: { token: '${TOKEN}' } }), lambdaContext('OrderPushFunction'));`],
      { env: { ...process.env, LOG_LEVEL: 'SILENT', KCO_API_TIMEOUT_MS: '4000', ORDERS_WORK_MS: '4500' }, stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await fake.waitForRequest('acknowledge', id);
    child.kill('SIGKILL');
    await exited;
    expect(await item(id)).toMatchObject({ status: 'recorded', version: 1 });
    fake.clearFaults();
    // Within the dead function's lease another attempt leaves the order alone...
    expect((await push(id)).status).toBe(202);
    // ...after it, the next attempt (a later push, or the sweeper) acknowledges.
    const answer = await pushAMinuteLater(id);
    expect(answer.statusCode).toBe(200);
    expect(await item(id)).toMatchObject({ status: 'acknowledged', version: 2 });
    expect(fake.acknowledgements(id)).toBe(1);
    expect(await eventsFor(id)).toEqual(['1 Order Recorded', '2 Order Acknowledged']);
  });

  it('a rules change while an acknowledge is in flight: the lease holder decides, never Needs Review then Acknowledged', async () => {
    const id = newOrderId();
    const { first } = await pushWithRulesChangedDuringAcknowledge(id);
    // The second pass's check fails, but it does not hold the lease: it moves nothing.
    expect(await push(id)).toEqual({ status: 202, body: { order_id: id, status: 'recorded' } });
    expect((await first).body).toEqual({ order_id: id, status: 'acknowledged' });
    expect(await eventsFor(id)).toEqual(['1 Order Recorded', '2 Order Acknowledged']);
  });

  it('a pass whose lease ran out while Klarna answered leaves the review of the pass after it standing', async () => {
    const id = newOrderId();
    const { first } = await pushWithRulesChangedDuringAcknowledge(id);
    // A pass a minute later (the first one's lease has run out by its clock) holds the order for review.
    expect(JSON.parse((await pushAMinuteLater(id)).body)).toEqual({ order_id: id, status: 'needs_review' });
    // The first pass's acknowledgement comes back: the order stays held for the operator.
    expect((await first).body).toEqual({ order_id: id, status: 'needs_review' });
    expect(await item(id)).toMatchObject({ status: 'needs_review', review_reason: 'expected_amount_mismatch' });
    expect(await eventsFor(id)).toEqual(['1 Order Recorded', '2 Order Needs Review']);
  });

  it('an order at Klarna\'s limits (1000 lines, 255-character names and references) is recorded, acknowledged and published', async () => {
    const id = newOrderId();
    // 255 characters of 3 bytes each: 765 bytes per text, about 1.6 MB of lines.
    const text = (n: number): string => `${n}-`.padEnd(255, '€');
    const lines = Array.from({ length: 1000 }, (_, i) => ({
      type: 'physical', reference: text(i), name: text(i + 1000), quantity: 1, quantity_unit: 'pcs', unit_price: 100, tax_rate: 2500, total_amount: 100, total_discount_amount: 0, total_tax_amount: 20,
    }));
    fake.putOrder(exampleOmOrder(id, { order_lines: lines, order_amount: 100_000, original_order_amount: 100_000, merchant_reference1: text(1), merchant_reference2: text(2), merchant_data: '€'.repeat(6000) }));
    expect(await push(id)).toEqual({ status: 200, body: { order_id: id, status: 'acknowledged' } });
    const stored = await item(id);
    expect(stored).toMatchObject({ status: 'acknowledged', line_count: 1000 });
    expect(Buffer.byteLength(JSON.stringify(stored))).toBeLessThan(400_000);
    const { DynamoDbOrdersStore } = await import('../../functions/orders/orders-store.js');
    const record = await new DynamoDbOrdersStore(client, ORDERS).get(id);
    expect(record?.order_lines).toEqual(lines);
    expect(record).not.toHaveProperty('line_parts');
    expect(await eventsFor(id)).toEqual(['1 Order Recorded', '2 Order Acknowledged']);
    const recorded = bus.events.find((e) => e.detail.order_id === id && e.detailType === 'Order Recorded');
    expect(recorded?.detail.order).toMatchObject({ order_lines_omitted: { reason: 'event_size', line_count: 1000, read_from: `GET /ordermanagement/v1/orders/${id}` } });
    expect(recorded?.detail.order).not.toHaveProperty('order_lines');
  });

  it('an order whose lines fit the record but not an event: the event leaves them out and says where they are', async () => {
    const id = newOrderId();
    const lines = Array.from({ length: 1000 }, (_, i) => ({ type: 'physical', reference: `R${i}`.padEnd(75, 'x'), name: `N${i}`.padEnd(75, 'y'), quantity: 1, unit_price: 100, tax_rate: 2500, total_amount: 100, total_tax_amount: 20 }));
    fake.putOrder(exampleOmOrder(id, { order_lines: lines, order_amount: 100_000, original_order_amount: 100_000 }));
    expect((await push(id)).status).toBe(200);
    expect((await item(id))?.order_lines).toHaveLength(1000);
    expect(await eventsFor(id)).toEqual(['1 Order Recorded', '2 Order Acknowledged']);
    const recorded = bus.events.find((e) => e.detail.order_id === id && e.detailType === 'Order Recorded');
    expect(recorded?.detail.order).toMatchObject({ order_lines_omitted: { line_count: 1000 } });
  });

  it('an event EventBridge refuses is retried from its record: none lost, none out of order', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id));
    await stream.drain();
    const refusedBefore = bus.refusals;
    bus.failNextEntries(1);
    bus.failNextRequests(3);
    expect((await push(id)).status).toBe(200);
    // Each refusal sends the stream back to the record: read on until both events are out.
    await waitFor(async () => (await eventsFor(id)).length === 2, 50);
    expect(await eventsFor(id)).toEqual(['1 Order Recorded', '2 Order Acknowledged']);
    expect(bus.refusals - refusedBefore).toBe(4);
  });
  it('an event EventBridge refuses for good goes to the dead-letter queue and holds back nothing after it', async () => {
    const refused = newOrderId();
    const later = newOrderId();
    fake.putOrder(exampleOmOrder(refused));
    fake.putOrder(exampleOmOrder(later));
    await stream.drain();
    bus.refuseEntries = (event) => event.detail.order_id === refused && event.detailType === 'Order Recorded';
    try {
      expect((await push(refused)).status).toBe(200);
      expect((await push(later)).status).toBe(200);
      expect(await eventsFor(later)).toEqual(['1 Order Recorded', '2 Order Acknowledged']);
      expect(await eventsFor(refused)).toEqual(['2 Order Acknowledged']);
      const letters = sqs.messages.map((m) => JSON.parse(m.body) as Record<string, unknown>).filter((l) => l.order_id === refused);
      expect(letters).toEqual([expect.objectContaining({ reason: 'MalformedDetail', detail_type: 'Order Recorded', sequence: 1 })]);
      expect(sqs.messages.find((m) => m.body.includes(refused))?.queueUrl).toBe(process.env.REFUSED_EVENTS_QUEUE_URL);
    } finally {
      bus.refuseEntries = undefined;
    }
  });

  it('a dead-letter queue that cannot take the letter: the record is retried, nothing is lost', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id));
    await stream.drain();
    bus.refuseEntries = (event) => event.detail.order_id === id && event.detailType === 'Order Recorded';
    sqs.failNextRequests(3);
    try {
      expect((await push(id)).status).toBe(200);
      await stream.drain();
      expect(sqs.messages.filter((m) => m.body.includes(id))).toHaveLength(1);
      expect(await eventsFor(id)).toEqual(['2 Order Acknowledged']);
    } finally {
      bus.refuseEntries = undefined;
    }
  });
});

describe('notification', () => {
  it('moves fraud_status from what Klarna says, never from the body, and never backwards', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id, { fraud_status: 'PENDING' }));
    expect((await push(id)).status).toBe(200);
    expect(await item(id)).toMatchObject({ status: 'acknowledged', fraud_status: 'PENDING' });
    // The body claims acceptance; Klarna still says PENDING: nothing moves.
    expect((await notify(id, 'FRAUD_RISK_ACCEPTED')).status).toBe(200);
    expect(await item(id)).toMatchObject({ fraud_status: 'PENDING', version: 2 });
    fake.updateOrder(id, { fraud_status: 'REJECTED', status: 'CANCELLED' });
    expect((await notify(id, 'FRAUD_RISK_REJECTED')).status).toBe(200);
    expect(await item(id)).toMatchObject({ fraud_status: 'REJECTED', klarna_status: 'CANCELLED', version: 4 });
    // A late, stale read cannot bring it back.
    fake.updateOrder(id, { fraud_status: 'ACCEPTED' });
    expect((await notify(id, 'FRAUD_RISK_ACCEPTED')).status).toBe(200);
    expect(await item(id)).toMatchObject({ fraud_status: 'REJECTED', klarna_status: 'CANCELLED', version: 4 });
    expect(await eventsFor(id)).toEqual(['1 Order Recorded', '2 Order Acknowledged', '3 Order Fraud Status Changed', '4 Order Klarna Status Changed']);
  });

  it('a stop wins while Klarna still says ACCEPTED: the record is STOPPED, may_ship false, and an event says so', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id));
    expect((await push(id)).body).toEqual({ order_id: id, status: 'acknowledged' });
    // Order Management's fraud_status has no STOPPED: it still answers ACCEPTED.
    expect((await notify(id, 'FRAUD_RISK_STOPPED')).status).toBe(200);
    expect(await item(id)).toMatchObject({ status: 'acknowledged', fraud_status: 'STOPPED', version: 3 });
    expect(await eventsFor(id)).toEqual(['1 Order Recorded', '2 Order Acknowledged', '3 Order Fraud Status Changed', '3 Order Shipping Withdrawn']);
    const withdrawn = bus.events.find((e) => e.detail.order_id === id && e.detailType === 'Order Shipping Withdrawn');
    expect(withdrawn?.detail).toMatchObject({ may_ship: false, fraud_status: 'STOPPED', previous_fraud_status: 'ACCEPTED', withdrawn_by: 'fraud_status' });
    // A later acceptance (Klarna's read or a notification's body) cannot undo it.
    expect((await notify(id, 'FRAUD_RISK_ACCEPTED')).status).toBe(200);
    expect(await item(id)).toMatchObject({ fraud_status: 'STOPPED', version: 3 });
  });

  it('a stop reaches the record even when Order Management cannot be read', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id));
    expect((await push(id)).status).toBe(200);
    fake.failAlways('get', { status: 503 });
    expect((await notify(id, 'FRAUD_RISK_STOPPED')).status).toBe(503);
    expect(await item(id)).toMatchObject({ fraud_status: 'STOPPED' });
  });

  it('a rejection wins while Klarna still says PENDING, also for an order the notification records first', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id, { fraud_status: 'PENDING' }));
    expect((await notify(id, 'FRAUD_RISK_REJECTED')).body).toEqual({ order_id: id, status: 'acknowledged' });
    expect(await item(id)).toMatchObject({ status: 'acknowledged', fraud_status: 'REJECTED' });
    expect(await eventsFor(id)).toEqual(['1 Order Recorded', '2 Order Fraud Status Changed', '3 Order Acknowledged']);
    const other = newOrderId();
    fake.putOrder(exampleOmOrder(other, { fraud_status: 'PENDING' }));
    expect((await push(other)).status).toBe(200);
    expect((await notify(other, 'FRAUD_RISK_REJECTED')).status).toBe(200);
    expect(await item(other)).toMatchObject({ fraud_status: 'REJECTED', version: 3 });
  });

  it('a notification after Klarna cancelled the order refreshes klarna_status and withdraws shipping', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id, { expires_at: '2026-12-30T09:00:00+01:00' }));
    expect((await push(id)).status).toBe(200);
    // Acknowledged: in the expiry sweep's index at its authorization's end, in UTC.
    expect(await item(id)).toMatchObject({ expiry_bucket: 'open', expiry_due: '2026-12-30T08:00:00.000Z' });
    fake.updateOrder(id, { status: 'CANCELLED' });
    expect((await notify(id, 'FRAUD_RISK_ACCEPTED')).status).toBe(200);
    expect(await item(id)).toMatchObject({ fraud_status: 'ACCEPTED', klarna_status: 'CANCELLED', version: 3 });
    // Closed by Klarna: nothing left to expire, out of the index.
    expect(Object.keys((await item(id)) ?? {})).not.toEqual(expect.arrayContaining(['expiry_bucket']));
    expect((await item(id))?.expiry_due).toBeUndefined();
    expect(await eventsFor(id)).toEqual(['1 Order Recorded', '2 Order Acknowledged', '3 Order Klarna Status Changed', '3 Order Shipping Withdrawn']);
    const withdrawn = bus.events.find((e) => e.detail.order_id === id && e.detailType === 'Order Shipping Withdrawn');
    expect(withdrawn?.detail).toMatchObject({ may_ship: false, klarna_status: 'CANCELLED', previous_klarna_status: 'AUTHORIZED', withdrawn_by: 'klarna_status' });
    // A stale read cannot reopen it.
    fake.updateOrder(id, { status: 'AUTHORIZED' });
    expect((await notify(id, 'FRAUD_RISK_ACCEPTED')).status).toBe(200);
    expect(await item(id)).toMatchObject({ klarna_status: 'CANCELLED', version: 3 });
  });

  it('every read refreshes klarna_status (a capture is recorded, shipping stays allowed)', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id));
    expect((await push(id)).status).toBe(200);
    fake.updateOrder(id, { status: 'PART_CAPTURED' });
    expect((await notify(id, 'FRAUD_RISK_ACCEPTED')).status).toBe(200);
    expect(await item(id)).toMatchObject({ klarna_status: 'PART_CAPTURED', version: 3 });
    expect(await eventsFor(id)).toEqual(['1 Order Recorded', '2 Order Acknowledged', '3 Order Klarna Status Changed']);
  });

  it('records and acknowledges an order whose notification arrives before any push', async () => {
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id));
    expect(await notify(id, 'FRAUD_RISK_ACCEPTED')).toEqual({ status: 200, body: { order_id: id, status: 'acknowledged' } });
    expect(fake.acknowledgements(id)).toBe(1);
  });
});

describe('sweeper', () => {
  it('acknowledges an order left recorded once Klarna answers again, and counts what is still waiting', async () => {
    const { defaultDeps } = await import('../../functions/orders/handlers/deps.js');
    const { sweep } = await import('../../functions/orders/sweep.js');
    const id = newOrderId();
    fake.putOrder(exampleOmOrder(id));
    fake.failAlways('acknowledge', { status: 503 });
    expect((await push(id)).status).toBe(503);
    expect(await item(id)).toMatchObject({ status: 'recorded', awaiting: 'recorded' });

    const later = { ...defaultDeps(), now: () => Date.now() + 31 * 60_000 };
    const options = { afterMs: 30 * 60_000, limit: 100, deadline: later.now() + 20_000, perOrderMs: 4000, maxTries: 100, maxAgeMs: 48 * 3_600_000 };
    // Too young to sweep: nothing happens to it.
    const young = await sweep({ ...later, now: Date.now }, { ...options, deadline: Date.now() + 20_000 });
    expect(young.found).toBe(0);
    // Klarna still failing: the order is counted as waiting (the alarm's metric).
    const failing = await sweep(later, options);
    expect(failing.found).toBeGreaterThanOrEqual(1);
    expect(failing.stillWaiting).toBeGreaterThanOrEqual(1);
    expect(await item(id)).toMatchObject({ status: 'recorded' });
    fake.clearFaults();
    const recovered = await sweep(later, options);
    expect(recovered.acknowledged).toBeGreaterThanOrEqual(1);
    expect(recovered.stillWaiting).toBe(0);
    const settled = await item(id);
    expect(settled).toMatchObject({ status: 'acknowledged' });
    expect(settled).not.toHaveProperty('awaiting');
    expect(fake.acknowledgements(id)).toBe(1);
    const after = await sweep(later, options);
    expect(after.found).toBe(0);
  });

  it('publishes the count still waiting as an embedded CloudWatch metric', async () => {
    const { awaitingMetricLine } = await import('../../functions/orders/handlers/sweep.js');
    expect(JSON.parse(awaitingMetricLine(2, 1_700_000_000_000))).toEqual({
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [{ Namespace: 'KlarnaServerless', Dimensions: [[]], Metrics: [{ Name: 'OrdersAwaitingAcknowledgement', Unit: 'Count' }] }],
      },
      OrdersAwaitingAcknowledgement: 2,
      step: 'sweep_metric',
    });
  });
});
