/**
 * The shop's commands through the local server (and the EventBridge handler), against DynamoDB
 * Local and the Order Management stand-in: each command booked once at Klarna and once in the
 * ledger however it is repeated (20 at once, a dropped connection after Klarna booked, a failed
 * attempt retried, an event and an HTTP call for the same command id), the guards, and the events.
 */
import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createTables, startDynamoDb, type RunningDynamoDb } from '../../bin/local/dynamodb-local.js';
import { exampleOmOrder, startFakeOrderManagement, type FakeOrderManagement } from '../../bin/local/fake-order-management.js';
import { startFakeEventBridge, type FakeEventBridge } from '../../bin/local/fake-eventbridge.js';
import { startFakeSqs, type FakeSqs } from '../../bin/local/fake-sqs.js';
import { startOrderStream, type OrderStream } from '../../bin/local/order-stream.js';
import { startLocalServer, type LocalServer } from '../../bin/local/server.js';
import { orderLedgerTable, ordersTable, rulesTable } from '../../lib/tables.js';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { putRules } from '../../functions/shared/rules-store.js';
import { commandIdempotencyKey } from '../../functions/orders/commands/run.js';
import { runOrdersCli } from '../../bin/local/orders-cli.js';

jest.setTimeout(90_000);

const TOKEN = 'commands-test-token';
const suffix = randomUUID().slice(0, 8);
const ORDERS = `commands-orders-${suffix}`;
const RULES = `commands-rules-${suffix}`;
const LEDGER = `commands-ledger-${suffix}`;

let db: RunningDynamoDb;
let fake: FakeOrderManagement;
let server: LocalServer;
let client: ReturnType<typeof createDocumentClient>;
let bus: FakeEventBridge;
let stream: OrderStream;
let sqs: FakeSqs;
const savedEnv = { ...process.env };

beforeAll(async () => {
  db = await startDynamoDb();
  const names = new Map<unknown, string>([
    [ordersTable, ORDERS],
    [rulesTable, RULES],
    [orderLedgerTable, LEDGER],
  ]);
  await createTables(db.endpoint, [ordersTable, rulesTable, orderLedgerTable], (def) => names.get(def) ?? 'unknown');
  fake = await startFakeOrderManagement();
  bus = await startFakeEventBridge();
  sqs = await startFakeSqs();
  Object.assign(process.env, {
    SQS_ENDPOINT: sqs.url,
    REFUSED_EVENTS_QUEUE_URL: `${sqs.url}/000000000000/refused-command-events`,
    EVENTBRIDGE_ENDPOINT: bus.url,
    EVENT_BUS_NAME: 'commands-test-bus',
    DYNAMODB_ENDPOINT: db.endpoint,
    ORDERS_TABLE: ORDERS,
    RULES_TABLE: RULES,
    ORDER_LEDGER_TABLE: LEDGER,
    RULES_CACHE_SECONDS: '0',
    KCO_CALLBACK_TOKENS: TOKEN,
    KCO_API_BASE_URL: fake.url,
    KCO_API_USERNAME: 'K123_test',
    KCO_API_PASSWORD: 'test-password',
    KCO_API_TIMEOUT_MS: '1500',
    KCO_API_BACKOFF_MS: '10',
    DYNAMODB_REQUEST_TIMEOUT_MS: '5000',
  });
  client = createDocumentClient(db.endpoint);
  const stored = await putRules(client, RULES, 'default', {}, { updatedBy: 'commands test' });
  if (!stored.ok) throw new Error('default rules refused');
  server = await startLocalServer({ port: 0 });
  const publisher = await import('../../functions/orders/handlers/publish-command-events.js');
  stream = await startOrderStream({ endpoint: db.endpoint, tableName: LEDGER, handle: (records) => publisher.handler({ Records: records }) });
});

afterAll(async () => {
  await server?.close();
  await stream?.stop();
  await bus?.close();
  await sqs?.close();
  await fake?.close();
  client?.destroy();
  (await import('../../functions/shared/dynamodb.js')).documentClient().destroy();
  await db?.stop();
  process.env = savedEnv;
});

beforeEach(() => fake.clearFaults());

type Answer = { status: number; body: Record<string, unknown> };

const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> => {
  const response = await fetch(`${server.url}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const command = (orderId: string, route: string, body: unknown): Promise<Answer> => call('POST', `/orders/${encodeURIComponent(orderId)}/${route}`, body);
const view = (orderId: string): Promise<Answer> => call('GET', `/orders/${encodeURIComponent(orderId)}`);

/** An order Klarna holds (2 × 12 500 T-shirts + 4 900 shipping = 29 900 SEK), pushed, recorded and acknowledged. */
const acknowledgedOrder = async (overrides: Record<string, unknown> = {}): Promise<string> => {
  const id = `order-${randomUUID()}`;
  fake.putOrder(exampleOmOrder(id, { expires_at: new Date(Date.now() + 20 * 86_400_000).toISOString(), ...overrides }));
  const response = await fetch(`${server.url}/kco/orders/${id}/push?token=${TOKEN}`, { method: 'POST' });
  expect(response.status).toBe(200);
  return id;
};

const ledgerItems = async (orderId: string, prefix: string): Promise<Record<string, unknown>[]> =>
  (
    await client.send(
      new QueryCommand({
        TableName: LEDGER,
        KeyConditionExpression: 'order_id = :o AND begins_with(entry, :p)',
        ExpressionAttributeValues: { ':o': orderId, ':p': prefix },
        ConsistentRead: true,
      }),
    )
  ).Items ?? [];

const eventsFor = async (orderId: string): Promise<string[]> => {
  await stream.drain();
  // Refusals and failures are published at once, bookings from the stream: compare as sets.
  return bus.events.filter((e) => e.detail.order_id === orderId).map((e) => e.detailType).sort();
};

describe('capture', () => {
  it('captures everything still authorized, with Klarna\'s own lines and the key derived from order id and command id', async () => {
    const id = await acknowledgedOrder();
    const answer = await command(id, 'captures', { command_id: 'ship-1', reference: 'parcel-1' });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ captured_amount: 29_900, remaining_authorized_amount: 0 });
    expect(answer.body.capture_id).toEqual(expect.any(String));
    const sent = fake.requests.filter((r) => r.orderId === id && r.call === 'capture');
    expect(sent.map((r) => r.idempotencyKey)).toEqual([commandIdempotencyKey(id, 'ship-1')]);
    const atKlarna = fake.order(id) as { captures: { captured_amount: number; order_lines: { reference: string; total_amount: number }[]; reference: string }[]; status: string };
    expect(atKlarna.status).toBe('CAPTURED');
    expect(atKlarna.captures[0]).toMatchObject({ captured_amount: 29_900, reference: 'parcel-1' });
    expect(atKlarna.captures[0]?.order_lines.map((l) => [l.reference, l.total_amount])).toEqual([
      ['TSHIRT-1', 25_000],
      ['standard', 4_900],
    ]);
    const shown = await view(id);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ captured_amount: 29_900, refunded_amount: 0, remaining_authorized_amount: 0, may_ship: true });
    expect((shown.body.captures as unknown[]).length).toBe(1);
    expect(await eventsFor(id)).toEqual(['Order Captured']);
  });

  it('books 20 identical commands sent at once as one capture at Klarna and one ledger entry, each answered alike', async () => {
    const id = await acknowledgedOrder();
    const answers = await Promise.all(Array.from({ length: 20 }, () => command(id, 'captures', { command_id: 'all-at-once', lines: [{ reference: 'TSHIRT-1', quantity: 1 }] })));
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 20 }, () => 201));
    expect(new Set(answers.map((a) => a.body.capture_id)).size).toBe(1);
    // One T-shirt and the shipping fee, which goes with the first capture.
    expect(answers[0]?.body).toMatchObject({ captured_amount: 12_500 + 4_900, remaining_authorized_amount: 12_500 });
    expect(fake.bookings(id, 'capture')).toBe(1);
    expect(await ledgerItems(id, 'capture#')).toHaveLength(1);
    expect(await eventsFor(id)).toEqual(['Order Captured']);
  });

  it('returns the same capture when Klarna booked it and the connection dropped before the answer: one booking, one ledger entry', async () => {
    const id = await acknowledgedOrder();
    fake.failNext('capture', { bookThenDrop: true });
    const answer = await command(id, 'captures', { command_id: 'dropped' });
    expect(answer.status).toBe(201);
    expect(fake.calls(id, 'capture')).toBe(2);
    expect(fake.bookings(id, 'capture')).toBe(1);
    const atKlarna = fake.order(id) as { captures: { capture_id: string }[] };
    expect(answer.body.capture_id).toBe(atKlarna.captures[0]?.capture_id);
    expect(await ledgerItems(id, 'capture#')).toHaveLength(1);
  });

  it('answers 503 and publishes Command Failed when Klarna stays unreachable, and the retry with the same command id books what Klarna booked', async () => {
    const id = await acknowledgedOrder();
    fake.failNext('capture', { bookThenDrop: true });
    fake.failAlways('capture', { status: 503 });
    const failed = await command(id, 'captures', { command_id: 'outage' });
    expect(failed).toMatchObject({ status: 503, body: { reason: 'klarna_unavailable' } });
    expect(fake.bookings(id, 'capture')).toBe(1);
    expect(await ledgerItems(id, 'capture#')).toHaveLength(0);
    fake.clearFaults();
    const retried = await command(id, 'captures', { command_id: 'outage' });
    expect(retried.status).toBe(201);
    expect(fake.bookings(id, 'capture')).toBe(1);
    expect(retried.body.capture_id).toBe((fake.order(id) as { captures: { capture_id: string }[] }).captures[0]?.capture_id);
    expect(await ledgerItems(id, 'capture#')).toHaveLength(1);
    expect(await eventsFor(id)).toEqual(['Command Failed', 'Order Captured']);
  });

  it('books an event and an HTTP call with the same command id once', async () => {
    const id = await acknowledgedOrder();
    const { handler } = await import('../../functions/orders/handlers/command-event.js');
    const event = {
      id: randomUUID(),
      version: '0',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'eu-north-1',
      resources: [],
      source: 'shop',
      'detail-type': 'Capture Order',
      detail: { order_id: id, command_id: 'both-ways' },
    };
    const context = { getRemainingTimeInMillis: () => 10_000 };
    const [fromEvent, fromHttp] = await Promise.all([handler(event, context), command(id, 'captures', { command_id: 'both-ways' })]);
    expect(fromHttp.status).toBe(201);
    expect(fromEvent).toMatchObject({ status: 201, body: { capture_id: fromHttp.body.capture_id } });
    expect(fake.bookings(id, 'capture')).toBe(1);
    expect(await ledgerItems(id, 'capture#')).toHaveLength(1);
  });

  it('refuses the same command id with another body (command_id_reused) and replays the same body', async () => {
    const id = await acknowledgedOrder();
    const first = await command(id, 'captures', { command_id: 'c-1', lines: [{ reference: 'TSHIRT-1', quantity: 1 }] });
    expect(first.status).toBe(201);
    expect(await command(id, 'captures', { command_id: 'c-1', lines: [{ reference: 'TSHIRT-1', quantity: 2 }] })).toMatchObject({ status: 409, body: { reason: 'command_id_reused' } });
    expect(await command(id, 'captures', { command_id: 'c-1', lines: [{ reference: 'TSHIRT-1', quantity: 1 }] })).toEqual(first);
    expect(fake.bookings(id, 'capture')).toBe(1);
  });
});

describe('command events EventBridge refuses for good', () => {
  const lettersFor = (orderId: string): Record<string, unknown>[] =>
    sqs.messages.map((m) => JSON.parse(m.body) as Record<string, unknown>).filter((l) => l.order_id === orderId);

  it('go to the dead-letter queue and hold back nothing after them', async () => {
    const refused = await acknowledgedOrder();
    const later = await acknowledgedOrder();
    bus.refuseEntries = (event) => event.detail.order_id === refused && event.detailType === 'Order Captured';
    try {
      expect((await command(refused, 'captures', { command_id: 'refused-1' })).status).toBe(201);
      expect((await command(later, 'captures', { command_id: 'later-1' })).status).toBe(201);
      expect(await eventsFor(later)).toEqual(['Order Captured']);
      expect(await eventsFor(refused)).toEqual([]);
      expect(lettersFor(refused)).toEqual([
        expect.objectContaining({ reason: 'MalformedDetail', detail_type: 'Order Captured', command_id: 'refused-1', stream_sequence_number: expect.any(String), entry: expect.objectContaining({ DetailType: 'Order Captured' }) }),
      ]);
      expect(sqs.messages.find((m) => m.body.includes(refused))?.queueUrl).toBe(process.env.REFUSED_EVENTS_QUEUE_URL);
      // The booking itself stands: the ledger has it.
      expect((await view(refused)).body).toMatchObject({ captured_amount: 29_900 });
    } finally {
      bus.refuseEntries = undefined;
    }
  });

  it('a dead-letter queue that cannot take the letter: the record is retried, nothing is lost', async () => {
    const id = await acknowledgedOrder();
    bus.refuseEntries = (event) => event.detail.order_id === id && event.detailType === 'Order Captured';
    sqs.failNextRequests(3);
    try {
      expect((await command(id, 'captures', { command_id: 'queue-down' })).status).toBe(201);
      await stream.drain();
      expect(lettersFor(id)).toEqual([expect.objectContaining({ command_id: 'queue-down', detail_type: 'Order Captured' })]);
      expect(await eventsFor(id)).toEqual([]);
    } finally {
      bus.refuseEntries = undefined;
    }
  });
});

describe('guards', () => {
  it('refuses to capture an order Klarna has not accepted, before Klarna is asked', async () => {
    const id = await acknowledgedOrder({ fraud_status: 'PENDING' });
    expect(await command(id, 'captures', { command_id: 'c' })).toMatchObject({ status: 409, body: { reason: 'fraud_status_not_accepted' } });
    expect(fake.calls(id, 'capture')).toBe(0);
    expect(await eventsFor(id)).toEqual(['Command Refused']);
  });

  it('refuses cancel after a capture (has_captures), refunds beyond what was captured, release with nothing captured', async () => {
    const id = await acknowledgedOrder();
    expect(await command(id, 'release', { command_id: 'r-0' })).toMatchObject({ status: 409, body: { reason: 'no_captures' } });
    expect(await command(id, 'refunds', { command_id: 'f-0' })).toMatchObject({ status: 409, body: { reason: 'no_captures' } });
    expect((await command(id, 'captures', { command_id: 'c-1', lines: [{ reference: 'TSHIRT-1', quantity: 1 }] })).status).toBe(201);
    expect(await command(id, 'cancel', { command_id: 'x-1' })).toMatchObject({ status: 409, body: { reason: 'has_captures' } });
    expect(await command(id, 'refunds', { command_id: 'f-1', lines: [{ reference: 'TSHIRT-1', quantity: 2 }] })).toMatchObject({ status: 409, body: { reason: 'quantity_exceeds_captured' } });
    expect(await command(id, 'refunds', { command_id: 'f-2', amount: 17_401 })).toMatchObject({ status: 409, body: { reason: 'amount_exceeds_captured' } });
    expect(fake.calls(id, 'cancel') + fake.calls(id, 'refund') + fake.calls(id, 'release')).toBe(0);
  });

  it('answers 400 for a body that is not a command, and 404 for an order never recorded', async () => {
    const id = await acknowledgedOrder();
    expect(await command(id, 'captures', { command_id: 'c', lines: [{ reference: 'TSHIRT-1', quantity: 0 }] })).toMatchObject({ status: 400, body: { reason: 'invalid_command' } });
    expect(await command(id, 'captures', { commandid: 'typo' })).toMatchObject({ status: 400, body: { reason: 'invalid_command' } });
    expect(await command(id, 'captures', { command_id: 'c', amount: 1.5 })).toMatchObject({ status: 400 });
    expect(await command('never-recorded', 'captures', { command_id: 'c' })).toMatchObject({ status: 404, body: { reason: 'unknown_order' } });
    expect(await view('never-recorded')).toMatchObject({ status: 404, body: { reason: 'unknown_order' } });
  });

  it("passes Klarna's own refusal on as klarna_refused with its error code", async () => {
    const id = await acknowledgedOrder();
    fake.updateOrder(id, { status: 'CANCELLED' });
    expect(await command(id, 'captures', { command_id: 'c' })).toMatchObject({ status: 409, body: { reason: 'klarna_refused', klarna_error_code: 'CAPTURE_NOT_ALLOWED' } });
  });
});

describe('the order\'s life in money', () => {
  it('captures in parts, adds tracking, refunds a line, releases the rest, and Klarna agrees with the ledger at every step', async () => {
    const id = await acknowledgedOrder();
    const first = await command(id, 'captures', { command_id: 'p-1', lines: [{ reference: 'TSHIRT-1', quantity: 1 }], amount: 17_400 });
    expect(first).toMatchObject({ status: 201, body: { captured_amount: 17_400, remaining_authorized_amount: 12_500 } });
    const tracking = await command(id, `captures/${String(first.body.capture_id)}/shipping-info`, { shipping_info: [{ shipping_company: 'PostNord', tracking_number: 'PN123' }] });
    expect(tracking.status).toBe(200);
    expect(await command(id, 'captures/unknown-capture/shipping-info', { shipping_info: [{ tracking_number: 'X' }] })).toMatchObject({ status: 409, body: { reason: 'unknown_capture' } });
    const refund = await command(id, 'refunds', { command_id: 'f-1', lines: [{ reference: 'TSHIRT-1', quantity: 1 }], reference: 'return-1' });
    expect(refund).toMatchObject({ status: 201, body: { refunded_amount: 12_500 } });
    expect(await command(id, 'release', { command_id: 'rel-1' })).toMatchObject({ status: 200, body: { status: 'released', released_amount: 12_500 } });
    expect(await command(id, 'captures', { command_id: 'p-2' })).toMatchObject({ status: 409, body: { reason: 'authorization_released' } });
    const atKlarna = fake.order(id) as Record<string, unknown>;
    const shown = (await view(id)).body;
    expect(shown).toMatchObject({ captured_amount: atKlarna.captured_amount, refunded_amount: atKlarna.refunded_amount, remaining_authorized_amount: 0 });
    expect((shown.captures as { shipping_info?: unknown[] }[])[0]?.shipping_info).toEqual([{ shipping_company: 'PostNord', tracking_number: 'PN123' }]);
    expect(await eventsFor(id)).toEqual(['Authorization Released', 'Command Refused', 'Command Refused', 'Order Captured', 'Order Refunded']);
  });

  it("captures and refunds a line unit by unit where even shares of its tax would be refused, and Klarna's checks pass every part", async () => {
    // 3 pens at 13 with 2 off, 37 at 19 % taxed 5 (Klarna's rounding: t(37) = 5.91). Even shares of
    // the tax would give the middle unit (13, t = 2.08) a tax of 1, which Klarna refuses with 400
    // BAD_VALUE; the stand-in applies Klarna's line checks to every capture and refund.
    const pens = { type: 'physical', reference: 'PEN-3', name: 'Pen', quantity: 3, unit_price: 13, tax_rate: 1900, total_amount: 37, total_discount_amount: 2, total_tax_amount: 5 };
    const id = await acknowledgedOrder({ order_amount: 37, original_order_amount: 37, remaining_authorized_amount: 37, order_tax_amount: 5, order_lines: [pens] });
    for (const n of [1, 2, 3]) {
      expect(await command(id, 'captures', { command_id: `pen-${n}`, lines: [{ reference: 'PEN-3', quantity: 1 }] })).toMatchObject({ status: 201 });
    }
    for (const n of [1, 2, 3]) {
      expect(await command(id, 'refunds', { command_id: `back-${n}`, lines: [{ reference: 'PEN-3', quantity: 1 }] })).toMatchObject({ status: 201 });
    }
    const atKlarna = fake.order(id) as { captures: { order_lines: { total_amount: number; total_tax_amount: number }[] }[]; refunds: { order_lines: { total_amount: number; total_tax_amount: number }[] }[] };
    const parts = (entries: { order_lines: { total_amount: number; total_tax_amount: number }[] }[]) => entries.map((e) => [e.order_lines[0]?.total_amount, e.order_lines[0]?.total_tax_amount]);
    expect(parts(atKlarna.captures)).toEqual([[12, 1], [13, 3], [12, 1]]);
    expect(parts(atKlarna.refunds)).toEqual([[12, 1], [13, 3], [12, 1]]);
    expect(fake.requests.filter((r) => r.orderId === id && (r.call === 'capture' || r.call === 'refund'))).toHaveLength(6);
  });

  it("is refused by the stand-in as by Klarna when a line breaks Klarna's checks (the checks can fail)", async () => {
    const id = `order-${randomUUID()}`;
    fake.putOrder(exampleOmOrder(id));
    const post = async (route: string, body: unknown): Promise<{ status: number; body: unknown }> => {
      const response = await fetch(`${fake.url}/ordermanagement/v1/orders/${id}/${route}`, { method: 'POST', headers: { 'content-type': 'application/json', 'klarna-idempotency-key': randomUUID() }, body: JSON.stringify(body) });
      return { status: response.status, body: response.status === 201 ? undefined : await response.json() };
    };
    const line = { type: 'physical', reference: 'TSHIRT-1', name: 'T-shirt', quantity: 1, unit_price: 12_500, tax_rate: 2500, total_amount: 12_500, total_discount_amount: 0, total_tax_amount: 2_500 };
    expect(await post('captures', { captured_amount: 12_500, order_lines: [{ ...line, total_tax_amount: 2_502 }] })).toMatchObject({ status: 400, body: { error_code: 'BAD_VALUE', error_messages: ['Bad value: order_lines[0].total_tax_amount'] } });
    expect(await post('captures', { captured_amount: 12_500, order_lines: [{ ...line, total_amount: 12_400 }] })).toMatchObject({ status: 400, body: { error_messages: ['Bad value: order_lines[0].total_amount'] } });
    expect(await post('captures', { captured_amount: 12_499, order_lines: [line] })).toMatchObject({ status: 400, body: { error_messages: ['Bad value: captured_amount'] } });
    expect(await post('captures', { captured_amount: 12_500, order_lines: [{ ...line, total_tax_amount: 2_501 }] })).toMatchObject({ status: 201 });
    expect(await post('refunds', { refunded_amount: 12_500, order_lines: [{ ...line, total_tax_amount: 2_498 }] })).toMatchObject({ status: 400, body: { error_messages: ['Bad value: order_lines[0].total_tax_amount'] } });
    expect(await post('refunds', { refunded_amount: 12_500, order_lines: [line] })).toMatchObject({ status: 201 });
  });

  it('cancels an order nothing was captured of, and extends an authorization with the new expires_at from Klarna', async () => {
    const toExtend = await acknowledgedOrder();
    const extended = await command(toExtend, 'extend', { command_id: 'e-1' });
    expect(extended.status).toBe(200);
    expect(extended.body.expires_at).toBe((fake.order(toExtend) as { expires_at: string }).expires_at);
    expect((await view(toExtend)).body.expires_at).toBe(extended.body.expires_at);
    const toCancel = await acknowledgedOrder();
    expect(await command(toCancel, 'cancel', { command_id: 'x-1' })).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    expect(await command(toCancel, 'cancel', { command_id: 'x-1' })).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    expect(await command(toCancel, 'captures', { command_id: 'c-1' })).toMatchObject({ status: 409, body: { reason: 'order_cancelled' } });
    expect((await view(toCancel)).body).toMatchObject({ may_ship: false, remaining_authorized_amount: 0 });
    expect(fake.bookings(toCancel, 'cancel')).toBe(1);
    expect(await eventsFor(toCancel)).toEqual(['Command Refused', 'Order Cancelled']);
    expect(await eventsFor(toExtend)).toEqual(['Authorization Extended']);
  });
});

describe('npm run orders', () => {
  const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runOrdersCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: { ...process.env, ORDERS_API_URL: server.url }, cwd: '/nonexistent' });
    return { code, out, err };
  };

  it('lists, captures some lines, shows and refunds through the same routes, repeating a command by its id', async () => {
    const id = await acknowledgedOrder();
    expect((await run('list')).out).toContain(`${id}\tacknowledged\tACCEPTED\t29900 SEK`);
    const captured = await run('capture', id, '--lines', 'TSHIRT-1:1', '--command-id', 'cli-1');
    expect(captured.code).toBe(0);
    expect(JSON.parse(captured.out)).toMatchObject({ captured_amount: 17_400 });
    expect(JSON.parse((await run('capture', id, '--lines', 'TSHIRT-1:1', '--command-id', 'cli-1')).out)).toEqual(JSON.parse(captured.out));
    expect(JSON.parse((await run('show', id)).out)).toMatchObject({ captured_amount: 17_400, remaining_authorized_amount: 12_500 });
    const refused = await run('cancel', id);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.out)).toMatchObject({ reason: 'has_captures' });
    expect((await run('capture', id, '--lines', 'TSHIRT-1')).code).toBe(2);
    expect(fake.bookings(id, 'capture')).toBe(1);
  });

  it('without an API, puts the command on the bus as the shop would and prints its booking from the ledger; show reads the tables', async () => {
    const id = await acknowledgedOrder();
    const { handler } = await import('../../functions/orders/handlers/command-event.js');
    // The stack's rule, as npm start plays it: command events reach the command-event handler.
    bus.onEvent = (event) => {
      if (event.detailType === 'Capture Order') {
        void handler({ id: randomUUID(), version: '0', account: 'local', time: new Date().toISOString(), region: 'local', resources: [], source: event.source, 'detail-type': event.detailType, detail: event.detail }, { getRemainingTimeInMillis: () => 10_000 });
      }
    };
    try {
      let out = '';
      const io = { stdout: (t: string) => (out += t), stderr: () => undefined, env: { ...process.env, ORDERS_API_URL: '', ORDER_LEDGER_TABLE: LEDGER }, cwd: '/nonexistent' };
      expect(await runOrdersCli(['capture', id, '--amount', '100', '--command-id', 'via-bus'], io)).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ captured_amount: 100, remaining_authorized_amount: 29_800 });
      out = '';
      expect(await runOrdersCli(['show', id], io)).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ captured_amount: 100, may_ship: true });
      expect(fake.bookings(id, 'capture')).toBe(1);
    } finally {
      bus.onEvent = undefined;
    }
  });
});

describe('expiry sweep', () => {
  const sweep = async (settings: { warningDays: number; autoExtend: boolean }) => {
    const { commandDeps } = await import('../../functions/orders/handlers/command-deps.js');
    const { sweepExpiry } = await import('../../functions/orders/handlers/expiry-sweep.js');
    return sweepExpiry(commandDeps(), ORDERS, settings, Date.now() + 20_000);
  };

  it('warns once per expires_at within the warning days, extends when told (once), and reports an order expired with authorization left once', async () => {
    const soon = await acknowledgedOrder({ expires_at: new Date(Date.now() + 2 * 86_400_000).toISOString() });
    const later = await acknowledgedOrder({ expires_at: new Date(Date.now() + 10 * 86_400_000).toISOString() });
    const expiredId = await acknowledgedOrder({ expires_at: new Date(Date.now() + 60_000).toISOString() });
    // Klarna's authorization ran out after the order was recorded.
    const { DynamoDbOrdersStore } = await import('../../functions/orders/orders-store.js');
    const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    await client.send(new UpdateCommand({ TableName: ORDERS, Key: { order_id: expiredId }, UpdateExpression: 'SET klarna_expires_at = :past', ExpressionAttributeValues: { ':past': new Date(Date.now() - 3_600_000).toISOString() } }));
    expect((await new DynamoDbOrdersStore(client, ORDERS).get(expiredId))?.klarna_expires_at).toBeDefined();

    const first = await sweep({ warningDays: 3, autoExtend: false });
    expect(first.failed).toBe(0);
    const second = await sweep({ warningDays: 3, autoExtend: false });
    expect(second).toMatchObject({ warned: 0, expired: 0 });
    expect(await eventsFor(soon)).toEqual(['Authorization Expiring']);
    expect(await eventsFor(later)).toEqual([]);
    expect(await eventsFor(expiredId)).toEqual(['Authorization Expired']);

    const extending = await sweep({ warningDays: 3, autoExtend: true });
    expect(extending.extended).toBeGreaterThanOrEqual(1);
    expect(fake.bookings(soon, 'extend')).toBe(1);
    await sweep({ warningDays: 3, autoExtend: true });
    expect(fake.bookings(soon, 'extend')).toBe(1);
    expect((await view(soon)).body.expires_at).toBe((fake.order(soon) as { expires_at: string }).expires_at);
    expect(await eventsFor(soon)).toEqual(['Authorization Expiring', 'Authorization Extended']);
  });
});

describe('event schemas', () => {
  it('every event published in these tests has exactly the fields its schema in docs/events allows, with the required ones', async () => {
    const { readFileSync } = await import('node:fs');
    await stream.drain();
    const types = new Set<string>();
    for (const event of bus.events) {
      if (event.source !== 'klarna-serverless' || event.detail.sequence !== undefined) continue;
      types.add(event.detailType);
      const schema = JSON.parse(readFileSync(`docs/events/${event.detailType.toLowerCase().replace(/ /g, '-')}.schema.json`, 'utf8')) as {
        required: string[];
        properties: Record<string, { const?: unknown; enum?: unknown[]; type?: string }>;
      };
      for (const field of schema.required) expect({ [event.detailType]: field in event.detail }).toEqual({ [event.detailType]: true });
      for (const [field, value] of Object.entries(event.detail)) {
        const rule = schema.properties[field];
        expect({ [event.detailType]: field, known: rule !== undefined }).toEqual({ [event.detailType]: field, known: true });
        if (rule?.const !== undefined) expect(value).toBe(rule.const);
        if (rule?.enum) expect(rule.enum).toContain(value);
        if (rule?.type === 'integer') expect(Number.isSafeInteger(value)).toBe(true);
      }
    }
    expect([...types].sort()).toEqual(
      ['Authorization Expired', 'Authorization Expiring', 'Authorization Extended', 'Authorization Released', 'Command Failed', 'Command Refused', 'Order Cancelled', 'Order Captured', 'Order Refunded'],
    );
  });
});
