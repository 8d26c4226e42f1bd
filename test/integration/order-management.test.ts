/**
 * The Order Management client against the loopback stand-in: hosts, credentials, idempotency
 * keys, and what it does when Klarna is slow, failing, hanging or answering garbage. Bounded by
 * attempt counts and deadlines, never by measured time.
 */
import { startFakeOrderManagement, exampleOmOrder, type FakeOrderManagement } from '../../bin/local/fake-order-management.js';
import {
  authorizationFrom,
  createOrderManagementClient,
  idempotencyKey,
  resolveOmBaseUrl,
  type OrderManagement,
} from '../../functions/orders/order-management.js';

jest.setTimeout(20_000);

let fake: FakeOrderManagement;
let client: OrderManagement;
let pauses: number[];
const far = (): number => Date.now() + 10_000;

beforeAll(async () => {
  fake = await startFakeOrderManagement();
});
afterAll(async () => fake.close());
beforeEach(() => {
  fake.reset();
  pauses = [];
  client = createOrderManagementClient({
    baseUrl: fake.url,
    authorization: async () => authorizationFrom({ username: 'K123_abc', password: 'secret' }),
    timeoutMs: 200,
    maxAttempts: 3,
    backoffMs: 100,
    random: () => 1,
    sleep: async (ms) => {
      pauses.push(ms);
    },
  });
});

describe('hosts', () => {
  it('picks Kustom or Klarna by provider, region and environment, playground unless told', () => {
    expect(resolveOmBaseUrl({})).toBe('https://api.playground.kustom.co');
    expect(resolveOmBaseUrl({ environment: 'production' })).toBe('https://api.kustom.co');
    expect(resolveOmBaseUrl({ provider: 'klarna' })).toBe('https://api.playground.klarna.com');
    expect(resolveOmBaseUrl({ provider: 'klarna', region: 'na', environment: 'production' })).toBe('https://api-na.klarna.com');
    expect(resolveOmBaseUrl({ provider: 'KLARNA', region: 'oc', environment: 'playground' })).toBe('https://api-oc.playground.klarna.com');
    expect(resolveOmBaseUrl({ baseUrl: 'http://127.0.0.1:9999/' })).toBe('http://127.0.0.1:9999');
  });

  it('refuses what it cannot resolve', () => {
    expect(() => resolveOmBaseUrl({ provider: 'adyen' })).toThrow('KCO_API_PROVIDER must be one of kustom, klarna');
    expect(() => resolveOmBaseUrl({ provider: 'klarna', region: 'us' })).toThrow('KCO_API_REGION');
    expect(() => resolveOmBaseUrl({ region: 'eu' })).toThrow('Klarna only');
    expect(() => resolveOmBaseUrl({ baseUrl: 'ftp://x' })).toThrow('KCO_API_BASE_URL');
  });
});

describe('credentials', () => {
  it('sends Basic username:password, or a Kustom API key as it stands', () => {
    expect(authorizationFrom({ username: 'K123_abc', password: 'p:w' })).toBe(`Basic ${Buffer.from('K123_abc:p:w').toString('base64')}`);
    expect(authorizationFrom({ api_key: 'kco_test_api_xyz' })).toBe('Basic kco_test_api_xyz');
    expect(() => authorizationFrom({ username: 'only' })).toThrow('api_key, or a username and a password');
  });
});

describe('idempotency keys', () => {
  it('are the same for the same order and operation and differ otherwise (UUID version 5)', () => {
    const key = idempotencyKey('order-1', 'acknowledge');
    expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(idempotencyKey('order-1', 'acknowledge')).toBe(key);
    expect(idempotencyKey('order-2', 'acknowledge')).not.toBe(key);
    expect(idempotencyKey('order-1', 'capture')).not.toBe(key);
  });
});

describe('getOrder', () => {
  it('reads the order with the credentials and a User-Agent', async () => {
    fake.putOrder(exampleOmOrder('o-1'));
    const result = await client.getOrder('o-1', far());
    expect(result).toMatchObject({ kind: 'ok', attempts: 1, value: { order_id: 'o-1', order_amount: 29900, fraud_status: 'ACCEPTED' } });
    expect(fake.requests[0]).toMatchObject({ call: 'get', authorization: `Basic ${Buffer.from('K123_abc:secret').toString('base64')}` });
    expect(fake.requests[0]?.userAgent).toMatch(/^klarna-serverless\//);
  });

  it('empty credentials (a fresh stack\'s secret) are credentials_missing at once: no request, no retry', async () => {
    fake.putOrder(exampleOmOrder('o-empty'));
    const empty = createOrderManagementClient({
      baseUrl: fake.url,
      authorization: async () => authorizationFrom({ username: '', password: '' }),
      timeoutMs: 200,
      maxAttempts: 3,
      backoffMs: 100,
    });
    expect(await empty.getOrder('o-empty', far())).toEqual({ kind: 'failed', reason: 'credentials_missing', attempts: 1 });
    expect(await empty.acknowledge('o-empty', far())).toEqual({ kind: 'failed', reason: 'credentials_missing', attempts: 1 });
    expect(fake.requests).toHaveLength(0);
  });

  it('answers not_found for NO_SUCH_ORDER after one request', async () => {
    expect(await client.getOrder('nobody', far())).toEqual({ kind: 'not_found', attempts: 1 });
    expect(fake.requests).toHaveLength(1);
  });

  it('retries 5xx and 429 with growing pauses and returns the order once Klarna recovers', async () => {
    fake.putOrder(exampleOmOrder('o-2'));
    fake.failNext('get', { status: 503 });
    fake.failNext('get', { status: 429 });
    const result = await client.getOrder('o-2', far());
    expect(result).toMatchObject({ kind: 'ok', attempts: 3 });
    expect(pauses).toEqual([100, 200]);
  });

  it("waits as long as a 429's Retry-After asks", async () => {
    fake.putOrder(exampleOmOrder('o-3'));
    fake.failNext('get', { status: 429, retryAfter: '1' });
    expect(await client.getOrder('o-3', far())).toMatchObject({ kind: 'ok', attempts: 2 });
    expect(pauses).toEqual([1000]);
  });

  it('gives up after the last attempt on a hanging Klarna and says it timed out', async () => {
    fake.putOrder(exampleOmOrder('o-4'));
    fake.failAlways('get', { hang: true });
    expect(await client.getOrder('o-4', far())).toEqual({ kind: 'failed', reason: 'timeout', attempts: 3 });
    expect(fake.requests).toHaveLength(3);
  });

  it('does not start an attempt the deadline leaves no room for', async () => {
    fake.putOrder(exampleOmOrder('o-5'));
    expect(await client.getOrder('o-5', Date.now() + 10)).toEqual({ kind: 'failed', reason: 'deadline', attempts: 0 });
    expect(fake.requests).toHaveLength(0);
  });

  it('stops retrying when the next pause would cross the deadline', async () => {
    fake.putOrder(exampleOmOrder('o-6'));
    fake.failAlways('get', { status: 500 });
    const result = await client.getOrder('o-6', Date.now() + 120);
    expect(result).toMatchObject({ kind: 'failed', reason: 'status', status: 500, attempts: 1 });
    expect(pauses).toEqual([]);
  });

  it('does not retry a refusal (401) and reports its error code', async () => {
    fake.putOrder(exampleOmOrder('o-7'));
    fake.credentials = { username: 'other', password: 'x' };
    expect(await client.getOrder('o-7', far())).toEqual({ kind: 'failed', reason: 'status', status: 401, error_code: 'UNAUTHORIZED', attempts: 1 });
  });

  it('reports garbage and a wrong order as an invalid response, not as an order', async () => {
    fake.putOrder(exampleOmOrder('o-8'));
    fake.failNext('get', { garbage: true });
    expect(await client.getOrder('o-8', far())).toEqual({ kind: 'failed', reason: 'invalid_response', status: 200, attempts: 1 });
    fake.putOrder(exampleOmOrder('o-9', { order_amount: 'lots' }));
    expect(await client.getOrder('o-9', far())).toMatchObject({ kind: 'failed', reason: 'invalid_response' });
  });

  it('slow but inside the timeout is fine', async () => {
    fake.putOrder(exampleOmOrder('o-10'));
    fake.failNext('get', { delayMs: 50 });
    expect(await client.getOrder('o-10', far())).toMatchObject({ kind: 'ok', attempts: 1 });
  });
});

describe('acknowledge', () => {
  it('sends the order idempotency key and gets 204', async () => {
    fake.putOrder(exampleOmOrder('a-1'));
    expect(await client.acknowledge('a-1', far())).toEqual({ kind: 'ok', value: undefined, attempts: 1 });
    expect(fake.requests[0]).toMatchObject({ call: 'acknowledge', idempotencyKey: idempotencyKey('a-1', 'acknowledge') });
    expect(fake.isAcknowledged('a-1')).toBe(true);
  });

  it('retries a 502 with the same key, and an unknown order is not_found', async () => {
    fake.putOrder(exampleOmOrder('a-2'));
    fake.failNext('acknowledge', { status: 502 });
    expect(await client.acknowledge('a-2', far())).toMatchObject({ kind: 'ok', attempts: 2 });
    expect(new Set(fake.requests.map((r) => r.idempotencyKey))).toEqual(new Set([idempotencyKey('a-2', 'acknowledge')]));
    expect(await client.acknowledge('a-unknown', far())).toEqual({ kind: 'not_found', attempts: 1 });
  });
});
