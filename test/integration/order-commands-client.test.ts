/**
 * The Order Management commands client against the stand-in: the idempotency key on every
 * attempt, Klarna's ids from the headers, retries of 429/5xx/timeouts with the same key (bounded),
 * Klarna's refusals final. Bounded by attempt counts, never by measured time.
 */
import { exampleOmOrder, startFakeOrderManagement, type FakeOrderManagement } from '../../bin/local/fake-order-management.js';
import { authorizationFrom, createOrderCommandsClient, type OrderCommands } from '../../functions/orders/order-management.js';

jest.setTimeout(20_000);

let fake: FakeOrderManagement;
let client: OrderCommands;
const far = (): number => Date.now() + 10_000;

beforeAll(async () => {
  fake = await startFakeOrderManagement();
});
afterAll(async () => fake.close());
beforeEach(() => {
  fake.reset();
  client = createOrderCommandsClient({
    baseUrl: fake.url,
    authorization: async () => authorizationFrom({ username: 'K1', password: 'p' }),
    timeoutMs: 300,
    maxAttempts: 3,
    backoffMs: 1,
    sleep: async () => undefined,
  });
});

it('captures with the key, reads Capture-Id, and answers a repeat of the key with the same capture', async () => {
  fake.putOrder(exampleOmOrder('o-1'));
  const first = await client.capture('o-1', { captured_amount: 10_000 }, 'key-1', far());
  const again = await client.capture('o-1', { captured_amount: 20_000 }, 'key-1', far());
  expect(first).toMatchObject({ kind: 'ok', attempts: 1 });
  expect(again).toEqual(first);
  expect(fake.bookings('o-1', 'capture')).toBe(1);
  expect(fake.requests.filter((r) => r.call === 'capture').map((r) => r.idempotencyKey)).toEqual(['key-1', 'key-1']);
  // Another key books another capture, as at Klarna.
  expect(await client.capture('o-1', { captured_amount: 1_000 }, 'key-2', far())).toMatchObject({ kind: 'ok' });
  expect(fake.bookings('o-1', 'capture')).toBe(2);
});

it('retries 503, 429 and a hang with the same key, then gives up after the attempts', async () => {
  fake.putOrder(exampleOmOrder('o-2'));
  fake.failNext('refund', { status: 503 });
  fake.failNext('capture', { status: 429, retryAfter: '0' });
  fake.failNext('capture', { hang: true });
  const captured = await client.capture('o-2', { captured_amount: 29_900 }, 'k', far());
  expect(captured).toMatchObject({ kind: 'ok', attempts: 3 });
  expect(new Set(fake.requests.filter((r) => r.call === 'capture').map((r) => r.idempotencyKey))).toEqual(new Set(['k']));
  fake.failAlways('refund', { status: 500 });
  expect(await client.refund('o-2', { refunded_amount: 100 }, 'r', far())).toMatchObject({ kind: 'failed', reason: 'status', status: 500, attempts: 3 });
});

it("passes Klarna's refusals on at once with their error codes, and 404 as not found", async () => {
  fake.putOrder(exampleOmOrder('o-3'));
  expect(await client.capture('o-3', { captured_amount: 29_901 }, 'a', far())).toMatchObject({ kind: 'failed', status: 403, error_code: 'CAPTURE_NOT_ALLOWED', attempts: 1 });
  expect(await client.refund('o-3', { refunded_amount: 1 }, 'b', far())).toMatchObject({ kind: 'failed', status: 403, error_code: 'REFUND_NOT_ALLOWED' });
  expect(await client.releaseRemainingAuthorization('o-3', 'c', far())).toMatchObject({ kind: 'failed', error_code: 'NOT_ALLOWED' });
  expect(await client.capture('o-3', { captured_amount: 100 }, 'd', far())).toMatchObject({ kind: 'ok' });
  expect(await client.cancel('o-3', 'e', far())).toMatchObject({ kind: 'failed', status: 403, error_code: 'CANCEL_NOT_ALLOWED' });
  expect(await client.addShippingInfo('o-3', 'no-such-capture', [{ tracking_number: 'x' }], 'f', far())).toMatchObject({ kind: 'not_found' });
  expect(await client.extendAuthorizationTime('nobody', 'g', far())).toMatchObject({ kind: 'not_found' });
});

it('treats a 201 without an id as an answer it cannot read', async () => {
  fake.putOrder(exampleOmOrder('o-4'));
  fake.failNext('capture', { status: 201, body: '' });
  expect(await client.capture('o-4', { captured_amount: 1 }, 'z', far())).toMatchObject({ kind: 'failed', reason: 'invalid_response' });
});

it("empty credentials (a fresh stack's secret) end a command at once as credentials_missing: no request, no retry", async () => {
  fake.putOrder(exampleOmOrder('o-empty'));
  const empty = createOrderCommandsClient({
    baseUrl: fake.url,
    authorization: async () => authorizationFrom({ username: '', password: '' }),
    timeoutMs: 300,
    maxAttempts: 3,
    backoffMs: 1,
    sleep: async () => undefined,
  });
  expect(await empty.capture('o-empty', { captured_amount: 100 }, 'k', far())).toEqual({ kind: 'failed', reason: 'credentials_missing', attempts: 1 });
  expect(await empty.cancel('o-empty', 'c', far())).toEqual({ kind: 'failed', reason: 'credentials_missing', attempts: 1 });
  expect(fake.requests).toHaveLength(0);
});
