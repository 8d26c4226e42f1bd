/**
 * The KCO callbacks when DynamoDB fails: unreachable (a closed port), hanging (a port that
 * accepts TCP and never answers), throttling (ProvisionedThroughputExceededException on every
 * request) and DynamoDB Local stopped in the middle of a run. Each time validation denies (400
 * approval_failed, never 200), the updates refuse with the generic "try again" text, and the log
 * says why (`rules_unavailable`, with the DynamoDB error behind it). With the client settings as
 * deployed: no timeout is tuned here. What keeps each answer inside Klarna's 3 s budget is the
 * code's own limits (the client's connect and request timeouts, DYNAMODB_MAX_ATTEMPTS and the
 * rules lookup's deadline), so the tests check that those fired (error names, counted connections
 * and requests), never the clock: a busy machine must not fail them.
 *
 * Also: a warm container serves its last good rules for a bounded stale window and fails closed
 * after it; and a wrong token never reaches DynamoDB.
 *
 * Each scenario loads the handler modules afresh (jest.resetModules), as a new Lambda container
 * would: the rules source and the DynamoDB client are per-container singletons.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { createTables, freePort, startDynamoDb, type RunningDynamoDb } from '../../bin/local/dynamodb-local.js';
import { startFakeSecretsExtension } from '../../bin/local/fake-secrets-extension.js';
import { forwardRequest } from '../../bin/local/slow-proxy.js';
import { kcoCallbackEvent, lambdaContext } from '../../bin/local/server.js';
import { rulesTable } from '../../lib/tables.js';
import { callbackNames, loadKcoHandlers, type KcoHandlers as Handlers } from '../support/kco-handlers.js';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { logger } from '../../functions/shared/log.js';
import { captureLogs } from '../support/log-capture.js';
import { DynamoDbRulesSource, putRules } from '../../functions/shared/rules-store.js';
import { defaultErrorTexts } from '../../functions/kco/answer.js';
import { UNAUTHORIZED_TEXT } from '../../functions/shared/refusal-texts.js';
import { waitFor } from '../support/wait-for.js';
import { addressUpdate, countryChange, shippingOptionUpdate, validation } from '../../functions/kco/callbacks.js';
import { kcoCallback, type CallbackName } from '../../functions/kco/handlers/kco-handler.js';
import { callbackRequestParser, validationOrderParser, type OrderLine, type UpdateResponse } from '../../functions/kco/order.js';

jest.setTimeout(20_000);

type LogEntry = Record<string, unknown> & { level?: string; message?: string };

const TOKEN = 'faults-token';
const TRY_AGAIN = defaultErrorTexts.rules_unavailable;
const callbacks = callbackNames;
/** Settings the deployed functions leave at their defaults; a scenario sets them only on purpose. */
const TUNABLES = ['DYNAMODB_CONNECT_TIMEOUT_MS', 'DYNAMODB_REQUEST_TIMEOUT_MS', 'DYNAMODB_MAX_ATTEMPTS', 'RULES_CACHE_SECONDS', 'RULES_STALE_SECONDS'];

const exampleRules = JSON.parse(readFileSync('bin/local/example-rules.json', 'utf8')) as Record<string, unknown>;
const savedEnv = { ...process.env };
let dynamo: RunningDynamoDb;
let table: string;

// ---- Requests. ----

// A fresh context per invocation, as Lambda gives: its remaining time counts down from the call.
const context = () => lambdaContext('faults');

const event = (callback: CallbackName, orderId: string, body: string, token: string | null = TOKEN) =>
  kcoCallbackEvent(callback, orderId, body, { token, headers: { 'Content-Type': 'application/json' } });

const sweden = { street_address: 'Testgatan 1', postal_code: '111 57', city: 'Stockholm', country: 'SE' };
const germany = { street_address: 'Teststraße 5', postal_code: '10117', city: 'Berlin', country: 'DE' };
const goods: OrderLine[] = [
  { type: 'physical', reference: 'TS-1', name: 'T-shirt', quantity: 2, unit_price: 19900, tax_rate: 2500, total_amount: 39800, total_discount_amount: 0, total_tax_amount: 7960 },
  { type: 'physical', reference: 'BOOK-001', name: 'A book', quantity: 1, unit_price: 14900, tax_rate: 2500, total_amount: 14900, total_discount_amount: 0, total_tax_amount: 2980 },
];
const cart = { order_amount: 54700, order_tax_amount: 10940, order_lines: goods, purchase_currency: 'SEK', billing_address: sweden, shipping_address: sweden };

/** Bodies for all four callbacks; validation and shipping_option_update as priced by `priced` when given. */
const bodiesFor = (priced?: UpdateResponse): Record<CallbackName, string> => {
  const lines = priced?.order_lines ?? goods;
  const totals = priced ? { order_amount: priced.order_amount, order_tax_amount: priced.order_tax_amount } : { order_amount: cart.order_amount, order_tax_amount: cart.order_tax_amount };
  const preselected = priced?.shipping_options?.find((o) => o.preselected) ?? { id: 'standard' };
  const express = priced?.shipping_options?.find((o) => o.id === 'express') ?? { id: 'express' };
  return {
    address_update: JSON.stringify(cart),
    country_change: JSON.stringify({ ...cart, billing_address: germany, shipping_address: germany }),
    shipping_option_update: JSON.stringify({ ...cart, ...totals, order_lines: lines, selected_shipping_option: express }),
    validation: JSON.stringify({ ...cart, ...totals, order_lines: lines, purchase_country: 'SE', selected_shipping_option: preselected }),
  };
};

type Answer = { callback: CallbackName; orderId: string; status: number; body: string };

const call = async (handlers: Handlers, callback: CallbackName, orderId: string, body: string, token: string | null = TOKEN): Promise<Answer> => {
  const result = await handlers[callback](event(callback, orderId, body, token), context());
  return { callback, orderId, status: result.statusCode, body: result.body };
};

/** All four callbacks at once, each for its own order id (`<prefix>-<callback>`). */
const callAll = (handlers: Handlers, prefix: string, bodies = bodiesFor()): Promise<Answer[]> =>
  Promise.all(callbacks.map((callback) => call(handlers, callback, `${prefix}-${callback.replace(/_/g, '-')}`, bodies[callback])));

/**
 * The four handler modules as a new container loads them, with `env` on top of the deployed
 * defaults: a fresh rules source, DynamoDB client and logger (at INFO, so the log can be read).
 */
const coldContainer = async (env: Record<string, string>): Promise<Handlers> => {
  for (const name of TUNABLES) delete process.env[name];
  Object.assign(process.env, { KCO_CALLBACK_TOKENS: TOKEN, RULES_TABLE: table, ...env });
  jest.resetModules();
  const handlers = await loadKcoHandlers();
  const fresh = (await import('../../functions/shared/log.js')) as typeof import('../../functions/shared/log.js');
  fresh.logger.setLogLevel('INFO');
  return handlers;
};

// ---- What was logged: every JSON line written to stdout or stderr. ----

const logs = captureLogs();
afterEach(() => logger.setLogLevel('SILENT'));

const logEntries = (): LogEntry[] => logs.entries<LogEntry>();

// ---- The expected answer when DynamoDB fails. ----

/**
 * All four 400 approval_failed with the generic try-again text
 * (validation: a denial, never a 200); each logged as an error for `rules_unavailable`, and the
 * rules lookup's own line says which DynamoDB error was behind it. Returns those error names.
 */
const expectFailedClosed = (answers: readonly Answer[]): string[] => {
  const entries = logEntries();
  // Structured logs only: nothing (an SDK warning, say) writes plain text beside them.
  expect(logs.written().split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'))).toEqual([]);
  const errorNames: string[] = [];
  for (const answer of answers) {
    expect({ callback: answer.callback, status: answer.status, body: JSON.parse(answer.body) as unknown }).toEqual({
      callback: answer.callback,
      status: 400,
      body: { error_type: 'approval_failed', error_text: TRY_AGAIN },
    });
    expect(entries).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'callback answered',
        callback: answer.callback,
        order_id: answer.orderId,
        status: 400,
        decision: 'error',
        reason: 'rules_unavailable',
      }),
    );
  }
  for (const entry of entries.filter((e) => e.message === 'rules unavailable')) {
    expect(entry).toEqual(expect.objectContaining({ level: 'ERROR', reason: 'dynamodb_error', error_name: expect.any(String), table }));
    errorNames.push(entry.error_name as string);
  }
  // At least one such line per callback (one per scope that could not be read).
  expect(errorNames.length).toBeGreaterThanOrEqual(answers.length);
  expect(TRY_AGAIN).toMatch(/try again/i);
  return errorNames;
};

// ---- Stand-ins for DynamoDB. ----

type FakeDynamoDb = {
  endpoint: string;
  /** One entry per HTTP request received: its X-Amz-Target and body. */
  requests: { target: string; body: string }[];
  close(): Promise<void>;
};

/**
 * An HTTP server speaking DynamoDB's JSON protocol on loopback: `throttle` answers every request
 * as DynamoDB does when throttled; `forward` passes requests to a real DynamoDB and counts them.
 */
const fakeDynamoDb = async (mode: { throttle: true } | { forwardTo: string }): Promise<FakeDynamoDb> => {
  const requests: FakeDynamoDb['requests'] = [];
  const server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ target: String(request.headers['x-amz-target'] ?? ''), body: body.toString('utf8') });
      if ('throttle' in mode) {
        response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
        response.end(
          JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
            message: 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level.',
          }),
        );
        return;
      }
      forwardRequest(request, body, response, new URL(mode.forwardTo));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      (closing ??= new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })),
  };
};

/** A port that accepts TCP connections and never says a word. */
const silentPort = async () => {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createNetServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.resume(); // read and ignore whatever the client sends
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
};

/** Everything but Date: for tests that move the clock the code reads and keep real timeouts. */
const REAL_TIMERS = ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] as const;

const requestsFor = (fake: FakeDynamoDb, orderId: string) => fake.requests.filter((r) => r.body.includes(`"order#${orderId}"`));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  dynamo = await startDynamoDb();
  table = `faults-rules-${randomUUID().slice(0, 8)}`;
  await createTables(dynamo.endpoint, [rulesTable], () => table);
  const client = createDocumentClient(dynamo.endpoint);
  expect((await putRules(client, table, 'default', exampleRules)).ok).toBe(true);
  client.destroy();
}, 60_000);

afterAll(async () => {
  await dynamo?.stop();
  process.env = savedEnv;
});

describe('DynamoDB fails and nothing is cached: every callback fails closed, bounded by the code’s own limits', () => {
  it('unreachable: nothing listens on the port (connection refused)', async () => {
    const handlers = await coldContainer({ DYNAMODB_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
    const answers = await callAll(handlers, 'refused');
    const errorNames = expectFailedClosed(answers);
    // The refusal ended each lookup, not a timer running out.
    for (const name of errorNames) expect(['TimeoutError', 'DeadlineExceeded']).not.toContain(name);
  });

  it('hanging: the port accepts TCP and never answers; client timeouts and the lookup deadline bound it', async () => {
    const port = await silentPort();
    try {
      const handlers = await coldContainer({ DYNAMODB_ENDPOINT: port.endpoint });
      const answers = await callAll(handlers, 'hanging');
      const errorNames = expectFailedClosed(answers);
      // Gave up on a timeout (the client's request timeout or the whole lookup's deadline), not by luck.
      for (const name of errorNames) expect(['TimeoutError', 'DeadlineExceeded']).toContain(name);
      // Bounded retries: at most DYNAMODB_MAX_ATTEMPTS (2) connections per callback.
      expect(port.connections()).toBeGreaterThanOrEqual(answers.length);
      expect(port.connections()).toBeLessThanOrEqual(2 * answers.length);
    } finally {
      await port.close();
    }
  });

  it('hanging, with a short client request timeout: the client gives up and retries once, on a new connection', async () => {
    const port = await silentPort();
    try {
      const handlers = await coldContainer({ DYNAMODB_ENDPOINT: port.endpoint, DYNAMODB_REQUEST_TIMEOUT_MS: '200' });
      const answers = await callAll(handlers, 'hanging-200');
      const errorNames = expectFailedClosed(answers);
      // Both attempts timed out in the client (200 ms each), well before the lookup's own deadline.
      expect(new Set(errorNames)).toEqual(new Set(['TimeoutError']));
      expect(port.connections()).toBe(2 * answers.length);
    } finally {
      await port.close();
    }
  });

  it('throttling: every request refused with ProvisionedThroughputExceededException; retries are bounded', async () => {
    const fake = await fakeDynamoDb({ throttle: true });
    try {
      const handlers = await coldContainer({ DYNAMODB_ENDPOINT: fake.endpoint });
      const answers = await callAll(handlers, 'throttled');
      const errorNames = expectFailedClosed(answers);
      expect(new Set(errorNames)).toEqual(new Set(['ProvisionedThroughputExceededException']));
      // One BatchGetItem per lookup, retried by the SDK up to DYNAMODB_MAX_ATTEMPTS (2) in all.
      for (const answer of answers) {
        const seen = requestsFor(fake, answer.orderId);
        expect(seen.length).toBeGreaterThanOrEqual(1);
        expect(seen.length).toBeLessThanOrEqual(2);
        expect(new Set(seen.map((r) => r.target))).toEqual(new Set(['DynamoDB_20120810.BatchGetItem']));
      }
      // Nothing keeps retrying in the background once the callback has answered.
      const after = fake.requests.length;
      await sleep(1200);
      expect(fake.requests.length).toBe(after);
    } finally {
      await fake.close();
    }
  });

  it('throttling with DYNAMODB_MAX_ATTEMPTS at its maximum (5): at most 5 requests, or fewer when the lookup deadline cuts the back-off', async () => {
    const fake = await fakeDynamoDb({ throttle: true });
    try {
      const handlers = await coldContainer({ DYNAMODB_ENDPOINT: fake.endpoint, DYNAMODB_MAX_ATTEMPTS: '5' });
      const answers = await callAll(handlers, 'throttled-5');
      const errorNames = expectFailedClosed(answers);
      // Either the SDK ran out of attempts or the lookup's deadline (1.5 s) stopped its back-off.
      for (const name of errorNames) expect(['ProvisionedThroughputExceededException', 'DeadlineExceeded']).toContain(name);
      for (const answer of answers) expect(requestsFor(fake, answer.orderId).length).toBeLessThanOrEqual(5);
    } finally {
      await fake.close();
    }
  });
});

describe('a warm container when DynamoDB goes away: the last good rules for a bounded time, then closed', () => {
  it('serves the rules read last within cache + stale seconds and fails closed from then on (injected clock)', async () => {
    const upstream = await fakeDynamoDb({ forwardTo: dynamo.endpoint });
    const client = createDocumentClient(upstream.endpoint);
    let now = Date.parse('2026-03-01T12:00:00Z');
    const source = new DynamoDbRulesSource(client, table, { cacheSeconds: 1, staleSeconds: 2, now: () => now });
    const spec = { rules: () => source };
    const handlers: Handlers = {
      address_update: kcoCallback({ callback: 'address_update', parser: callbackRequestParser, decide: addressUpdate, ...spec }),
      country_change: kcoCallback({ callback: 'country_change', parser: callbackRequestParser, decide: countryChange, ...spec }),
      shipping_option_update: kcoCallback({ callback: 'shipping_option_update', parser: callbackRequestParser, decide: shippingOptionUpdate, ...spec }),
      validation: kcoCallback({ callback: 'validation', parser: validationOrderParser, decide: validation, ...spec }),
    };
    logger.setLogLevel('INFO');
    try {
      // Warm: one read of both scopes, then every callback answers from the rules.
      const orderId = 'warm-order';
      const priced = await call(handlers, 'address_update', orderId, bodiesFor().address_update);
      expect(priced.status).toBe(200);
      const bodies = bodiesFor(JSON.parse(priced.body) as UpdateResponse);
      const good: Record<string, Answer> = {};
      for (const callback of callbacks) {
        good[callback] = await call(handlers, callback, orderId, bodies[callback]);
        expect({ callback, status: good[callback].status }).toEqual({ callback, status: 200 });
      }
      expect(upstream.requests).toHaveLength(1);
      const readAt = now;

      await upstream.close(); // DynamoDB goes away.

      // Cache expired (1 s), stale window (2 s more) open: the same answers as before, byte for byte.
      for (const offset of [1500, 2999]) {
        now = readAt + offset;
        logs.clear();
        for (const callback of callbacks) {
          const again = await call(handlers, callback, orderId, bodies[callback]);
          expect({ callback, offset, status: again.status, body: again.body }).toEqual({ callback, offset, status: 200, body: good[callback]!.body });
        }
        expect(logEntries()).toContainEqual(expect.objectContaining({ level: 'WARN', message: 'rules served stale', scope: 'default', age_ms: offset, reason: 'dynamodb_error' }));
      }

      // Within the window, an order never read before has nothing to fall back on.
      logs.clear();
      expectFailedClosed(await callAll(handlers, 'never-read'));

      // The window closes at cache + stale seconds after the read: every callback fails closed.
      now = readAt + 3000;
      logs.clear();
      const closed = await Promise.all(callbacks.map((callback) => call(handlers, callback, orderId, bodies[callback])));
      expectFailedClosed(closed);
      expect(upstream.requests).toHaveLength(1);
    } finally {
      client.destroy();
      await upstream.close();
    }
  });

  it('RULES_CACHE_SECONDS=1 and RULES_STALE_SECONDS=3 in a real container: cached, then stale, then closed (Date moved by hand)', async () => {
    // The container's rules source reads Date.now; only Date is faked, so the SDK's timers stay real.
    jest.useFakeTimers({ doNotFake: [...REAL_TIMERS], now: Date.now() });
    const upstream = await fakeDynamoDb({ forwardTo: dynamo.endpoint });
    try {
      const handlers = await coldContainer({ DYNAMODB_ENDPOINT: upstream.endpoint, RULES_CACHE_SECONDS: '1', RULES_STALE_SECONDS: '3' });
      const orderId = 'real-time-order';
      const warm = await call(handlers, 'address_update', orderId, bodiesFor().address_update);
      const readAt = Date.now();
      expect(warm.status).toBe(200);
      const bodies = bodiesFor(JSON.parse(warm.body) as UpdateResponse);
      await upstream.close(); // DynamoDB goes away.

      // Within the cache: no read at all.
      jest.setSystemTime(readAt + 999);
      expect((await call(handlers, 'validation', orderId, bodies.validation)).status).toBe(200);
      expect(logEntries().some((e) => e.message === 'rules served stale')).toBe(false);

      // Cache expired, stale window open until 1 + 3 s after the read.
      for (const age of [1000, 3999]) {
        jest.setSystemTime(readAt + age);
        logs.clear();
        expect((await call(handlers, 'validation', orderId, bodies.validation)).status).toBe(200);
        expect(logEntries()).toContainEqual(expect.objectContaining({ message: 'rules served stale', scope: 'default', age_ms: age }));
      }

      // Past cache + stale: closed.
      jest.setSystemTime(readAt + 4000);
      logs.clear();
      expectFailedClosed([await call(handlers, 'validation', orderId, bodies.validation), await call(handlers, 'address_update', orderId, bodies.address_update)]);
    } finally {
      jest.useRealTimers();
      await upstream.close();
    }
  });
});

describe('the token is checked before anything else', () => {
  it('a missing or wrong token answers 401 and costs no DynamoDB read; the right one reads', async () => {
    const upstream = await fakeDynamoDb({ forwardTo: dynamo.endpoint });
    try {
      const handlers = await coldContainer({ DYNAMODB_ENDPOINT: upstream.endpoint, RULES_CACHE_SECONDS: '0' });
      const bodies = bodiesFor();
      const wrongTokens = [null, '', 'wrong', `${TOKEN} `, TOKEN.toUpperCase(), TOKEN.slice(0, -1), 'x'.repeat(10_000)];
      for (const callback of callbacks) {
        for (const token of wrongTokens) {
          const answer = await call(handlers, callback, `token-${callback.replace(/_/g, '-')}`, bodies[callback], token);
          expect({ callback, token, status: answer.status }).toEqual({ callback, token, status: 401 });
        }
        // Not even a body that would be refused later is looked at.
        expect((await call(handlers, callback, 'token-order', '{"not json', 'wrong')).status).toBe(401);
      }
      expect(upstream.requests).toEqual([]);

      // The counter does count: the right token reads both scopes in one BatchGetItem.
      expect((await call(handlers, 'address_update', 'token-order', bodies.address_update)).status).toBe(200);
      expect(upstream.requests.map((r) => r.target)).toEqual(['DynamoDB_20120810.BatchGetItem']);
    } finally {
      await upstream.close();
    }
  });
});

describe('with the tokens in Secrets Manager (as deployed, through the Lambda extension), a cold container', () => {
  const tokensArn = 'arn:aws:secretsmanager:eu-north-1:123456789012:secret:KcoCallbackTokens-Faults';

  /** A cold container whose token read is held at the stand-in until `release`. */
  const heldTokens = async () => {
    const secrets = await startFakeSecretsExtension();
    secrets.setSecret(tokensArn, JSON.stringify({ tokens: [TOKEN] }));
    secrets.hold();
    const upstream = await fakeDynamoDb({ forwardTo: dynamo.endpoint });
    const handlers = await coldContainer({
      DYNAMODB_ENDPOINT: upstream.endpoint,
      RULES_CACHE_SECONDS: '0',
      KCO_CALLBACK_TOKENS: '',
      KCO_CALLBACK_TOKENS_SECRET_ARN: tokensArn,
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(secrets.port),
      AWS_SESSION_TOKEN: secrets.sessionToken,
    });
    const reads = (): string[] => upstream.requests.map((r) => r.target);
    const close = async (): Promise<void> => {
      delete process.env.KCO_CALLBACK_TOKENS_SECRET_ARN;
      delete process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT;
      delete process.env.AWS_SESSION_TOKEN;
      await Promise.all([secrets.close(), upstream.close()]);
    };
    return { secrets, upstream, handlers, reads, close };
  };

  it('reads the rules while it waits for its tokens, and answers from that one read once the token matched', async () => {
    const c = await heldTokens();
    try {
      const answer = call(c.handlers, 'address_update', 'early-rules-order', bodiesFor().address_update);
      // The rules were asked for while the tokens were still held back: the two overlap.
      await waitFor(() => c.reads().length === 1);
      expect(c.secrets.calls(tokensArn)).toBe(1);
      c.secrets.release();
      expect((await answer).status).toBe(200);
      // One read of the rules and one of the tokens, however the two were ordered.
      expect(c.reads()).toEqual(['DynamoDB_20120810.BatchGetItem']);
      expect(c.secrets.calls(tokensArn)).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('answers a wrong token 401 whatever that early read found, and reads nothing for one once the tokens are known', async () => {
    const c = await heldTokens();
    try {
      const answer = call(c.handlers, 'validation', 'early-rules-wrong', bodiesFor().validation, 'wrong-token');
      await waitFor(() => c.reads().length === 1);
      c.secrets.release();
      const wrong = await answer;
      expect({ status: wrong.status, body: JSON.parse(wrong.body) as unknown }).toEqual({ status: 401, body: { error: UNAUTHORIZED_TEXT } });
      // The tokens are known now: a wrong token costs no read at all.
      for (const callback of callbacks) expect((await call(c.handlers, callback, 'early-rules-wrong', bodiesFor()[callback], 'wrong-token')).status).toBe(401);
      expect(c.reads()).toEqual(['DynamoDB_20120810.BatchGetItem']);
      // The right token reads (no cache here) and is answered from the rules.
      expect((await call(c.handlers, 'address_update', 'early-rules-wrong', bodiesFor().address_update)).status).toBe(200);
      expect(c.reads()).toHaveLength(2);
    } finally {
      await c.close();
    }
  });
});

// Last in this file: it stops the DynamoDB Local the other scenarios forward to.
describe('DynamoDB Local stopped in the middle of a run', () => {
  it('answers the same orders correctly while it runs and fails closed once it is gone', async () => {
    // No cache and no stale window: the warm container has nothing to fall back on.
    const handlers = await coldContainer({ DYNAMODB_ENDPOINT: dynamo.endpoint, RULES_CACHE_SECONDS: '0', RULES_STALE_SECONDS: '0' });
    const priced = await call(handlers, 'address_update', 'mid-run-address-update', bodiesFor().address_update);
    expect(priced.status).toBe(200);
    const bodies = bodiesFor(JSON.parse(priced.body) as UpdateResponse);
    const before = await callAll(handlers, 'mid-run', bodies);
    expect(before.map((a) => [a.callback, a.status])).toEqual(callbacks.map((c) => [c, 200]));

    await dynamo.stop();

    logs.clear();
    const after = await callAll(handlers, 'mid-run', bodies);
    expectFailedClosed(after);
    // And again: a container that kept its connections to the dead endpoint does not hang either.
    logs.clear();
    expectFailedClosed(await callAll(handlers, 'mid-run', bodies));
  });
});
