import type { BatchGetCommand, BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';
import { mergeRules, parseRulesDocument } from '../../functions/kco/rules.js';
import { logger } from '../../functions/shared/log.js';
import exampleRules from '../../bin/local/example-rules.json';
import exampleOrderRules from '../../bin/local/example-order-rules.json';
import exampleUsRules from '../../bin/local/example-us-rules.json';
import {
  DynamoDbRulesSource,
  isRulesScope,
  itemToDocument,
  putRules,
  setsToArrays,
  type BatchGetClient,
  type RulesWriteClient,
} from '../../functions/shared/rules-store.js';

const TABLE = 'rules-unit';

type Items = Record<string, Record<string, unknown>>;

/** A stand-in for the document client: answers BatchGetItem from `items` and records each call. */
const fakeClient = (items: Items) => {
  const calls: string[][] = [];
  /** The abort signal each call was given (the lookup's deadline). */
  const signals: (AbortSignal | undefined)[] = [];
  let failure: Error | undefined;
  let hang = false;
  let unprocessed: string[] = [];
  const client: BatchGetClient = {
    send: async (command: BatchGetCommand, options?: { abortSignal?: AbortSignal }): Promise<BatchGetCommandOutput> => {
      const keys = (command.input.RequestItems?.[TABLE]?.Keys ?? []).map((key) => String(key.scope));
      calls.push(keys);
      signals.push(options?.abortSignal);
      if (hang) return new Promise(() => {});
      if (failure) throw failure;
      const held = keys.filter((scope) => unprocessed.includes(scope));
      unprocessed = unprocessed.filter((scope) => !held.includes(scope));
      return {
        $metadata: {},
        Responses: { [TABLE]: keys.filter((scope) => !held.includes(scope) && items[scope]).map((scope) => ({ scope, ...items[scope] })) },
        ...(held.length ? { UnprocessedKeys: { [TABLE]: { Keys: held.map((scope) => ({ scope })) } } } : {}),
      };
    },
  };
  return {
    client,
    calls,
    signals,
    failWith: (error: Error | undefined) => (failure = error),
    hangForever: () => (hang = true),
    leaveUnprocessed: (...scopes: string[]) => (unprocessed = scopes),
  };
};

const clock = () => {
  let now = 1_000_000;
  return { now: () => now, advance: (seconds: number) => (now += seconds * 1000) };
};

const storeDefault = {
  shipping_countries: ['SE', 'DE'],
  block_po_boxes: true,
  min_order_amount: 100,
  updated_at: '2024-05-01T10:00:00.000Z',
  updated_by: 'someone',
};

describe('itemToDocument', () => {
  it('drops the key and the bookkeeping attributes and keeps every rules field', () => {
    expect(itemToDocument({ scope: 'default', updated_at: 'x', updated_by: 'y', min_order_amount: 100, block_po_boxes: true })).toEqual({
      min_order_amount: 100,
      block_po_boxes: true,
    });
  });

  it('turns DynamoDB sets into arrays at any depth', () => {
    expect(
      itemToDocument({
        scope: 'default',
        shipping_countries: new Set(['SE', 'DE']),
        blocked_postal_code_prefixes: { SE: new Set(['981', '982']) },
        shipping_options: [{ id: 'a', countries: new Set(['SE']) }],
      }),
    ).toEqual({
      shipping_countries: ['SE', 'DE'],
      blocked_postal_code_prefixes: { SE: ['981', '982'] },
      shipping_options: [{ id: 'a', countries: ['SE'] }],
    });
    expect(setsToArrays(new Set([1, 2]))).toEqual([1, 2]);
    expect(setsToArrays('SE')).toBe('SE');
  });
});

describe('isRulesScope', () => {
  it.each([
    ['default', true],
    ['order#abc-123', true],
    ['order#', false],
    ['orders#1', false],
    ['Default', false],
  ])('%s → %s', (scope, expected) => expect(isRulesScope(scope)).toBe(expected));
});

describe('DynamoDbRulesSource', () => {
  afterEach(() => jest.restoreAllMocks());

  it('reads both scopes in one BatchGetItem and lets the order scope win field by field', async () => {
    const fake = fakeClient({ default: storeDefault, 'order#A': { min_order_amount: 5000, expected_order_amount: 12345 } });
    const source = new DynamoDbRulesSource(fake.client, TABLE, { cacheSeconds: 5, staleSeconds: 60, now: clock().now });

    const lookup = await source.rulesFor('A');

    expect(fake.calls).toEqual([['default', 'order#A']]);
    expect(lookup).toEqual({
      status: 'ok',
      rules: { shipping_countries: ['SE', 'DE'], block_po_boxes: true, min_order_amount: 5000, expected_order_amount: 12345 },
      scopesFound: ['default', 'order#A'],
    });
  });

  it('answers ok with only the scopes that exist, and missing when there is no default scope', async () => {
    const fake = fakeClient({ default: storeDefault });
    const source = new DynamoDbRulesSource(fake.client, TABLE, { cacheSeconds: 5, staleSeconds: 60, now: clock().now });
    expect(await source.rulesFor('A')).toEqual({
      status: 'ok',
      rules: { shipping_countries: ['SE', 'DE'], block_po_boxes: true, min_order_amount: 100 },
      scopesFound: ['default'],
    });

    const empty = new DynamoDbRulesSource(fakeClient({}).client, TABLE, { cacheSeconds: 5, staleSeconds: 60, now: clock().now });
    expect(await empty.rulesFor('A')).toEqual({ status: 'missing' });
    // An order scope alone is not the merchant's say for the store: still missing.
    const orderOnly = new DynamoDbRulesSource(fakeClient({ 'order#A': { expected_order_amount: 100 } }).client, TABLE, { cacheSeconds: 5, staleSeconds: 60, now: clock().now });
    expect(await orderOnly.rulesFor('A')).toEqual({ status: 'missing' });
  });

  it('validates a document whose lists are DynamoDB sets', async () => {
    const fake = fakeClient({ default: { shipping_countries: new Set(['SE']), denied_references: new Set(['X-1']) } });
    const source = new DynamoDbRulesSource(fake.client, TABLE, { cacheSeconds: 5, staleSeconds: 60, now: clock().now });
    expect(await source.rulesFor('A')).toEqual({
      status: 'ok',
      rules: { shipping_countries: ['SE'], denied_references: ['X-1'] },
      scopesFound: ['default'],
    });
  });

  it('serves both scopes, present or absent, from its cache for cacheSeconds, then reads again', async () => {
    const time = clock();
    const fake = fakeClient({ default: storeDefault });
    const source = new DynamoDbRulesSource(fake.client, TABLE, { cacheSeconds: 5, staleSeconds: 60, now: time.now });

    await source.rulesFor('A');
    time.advance(4.9);
    const cached = await source.rulesFor('A');
    expect(fake.calls).toHaveLength(1);
    expect(cached).toMatchObject({ status: 'ok', scopesFound: ['default'] });

    // A new order: the cached default is reused, only the new order scope is read.
    await source.rulesFor('B');
    expect(fake.calls[1]).toEqual(['order#B']);

    time.advance(0.2);
    await source.rulesFor('A');
    expect(fake.calls[2]).toEqual(['default', 'order#A']);
  });

  it('with cacheSeconds 0 reads on every lookup, so a hand edit shows at once', async () => {
    const items: Items = { default: { min_order_amount: 100 } };
    const fake = fakeClient(items);
    const source = new DynamoDbRulesSource(fake.client, TABLE, { cacheSeconds: 0, staleSeconds: 60, now: clock().now });
    await source.rulesFor('A');
    items.default = { min_order_amount: 200 };
    expect(await source.rulesFor('A')).toMatchObject({ status: 'ok', rules: { min_order_amount: 200 } });
    expect(fake.calls).toHaveLength(2);
  });

  it('serves the last value read while DynamoDB fails within the stale window, then fails closed', async () => {
    const time = clock();
    const fake = fakeClient({ default: storeDefault, 'order#A': { expected_order_amount: 500 } });
    const source = new DynamoDbRulesSource(fake.client, TABLE, { cacheSeconds: 5, staleSeconds: 60, now: time.now });
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const error = jest.spyOn(logger, 'error').mockImplementation(() => undefined);

    const good = await source.rulesFor('A');
    fake.failWith(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));

    time.advance(30);
    expect(await source.rulesFor('A')).toEqual(good);
    expect(warn).toHaveBeenCalledWith('rules served stale', expect.objectContaining({ scope: 'default', error_name: 'ProvisionedThroughputExceededException' }));

    time.advance(34.9); // 64.9 s after the read: still inside 5 + 60
    expect(await source.rulesFor('A')).toEqual(good);

    time.advance(0.1); // 65 s: the window is closed
    expect(await source.rulesFor('A')).toEqual({ status: 'unavailable' });
    expect(error).toHaveBeenCalledWith('rules unavailable', expect.objectContaining({ scope: 'default', reason: 'dynamodb_error' }));

    // Every failed refresh was one round trip, no retries of our own.
    expect(fake.calls).toHaveLength(4);

    // DynamoDB back: fresh values again.
    fake.failWith(undefined);
    expect(await source.rulesFor('A')).toEqual(good);
  });

  it('answers unavailable at once when DynamoDB fails and nothing was read before', async () => {
    const fake = fakeClient({});
    fake.failWith(new Error('connect ECONNREFUSED'));
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    const source = new DynamoDbRulesSource(fake.client, TABLE, { cacheSeconds: 5, staleSeconds: 60, now: clock().now });
    expect(await source.rulesFor('A')).toEqual({ status: 'unavailable' });
  });

  it('gives up when its timeoutMs deadline fires while DynamoDB never answers, the shorter deadline first', async () => {
    const short = fakeClient({});
    const long = fakeClient({});
    short.hangForever();
    long.hangForever();
    const error = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    const lookup = (fake: ReturnType<typeof fakeClient>, timeoutMs: number) =>
      new DynamoDbRulesSource(fake.client, TABLE, { cacheSeconds: 5, staleSeconds: 60, now: clock().now, timeoutMs }).rulesFor('A');
    const longAnswer = lookup(long, 400);
    // The client never answers: only the deadline's abort can settle the lookup.
    expect(await lookup(short, 100)).toEqual({ status: 'unavailable' });
    expect(short.signals).toHaveLength(1);
    expect(short.signals[0]?.aborted).toBe(true);
    expect((short.signals[0]?.reason as Error).name).toBe('TimeoutError');
    expect(error).toHaveBeenCalledWith('rules unavailable', expect.objectContaining({ reason: 'dynamodb_error', error_name: 'DeadlineExceeded' }));
    // The 400 ms deadline has not fired yet when the 100 ms one has: timeoutMs is what bounds it.
    expect(long.signals[0]?.aborted).toBe(false);
    expect(await longAnswer).toEqual({ status: 'unavailable' });
    expect(long.signals[0]?.aborted).toBe(true);
  });

  it('retries unprocessed keys once', async () => {
    const fake = fakeClient({ default: storeDefault, 'order#A': { expected_order_amount: 500 } });
    fake.leaveUnprocessed('order#A');
    const source = new DynamoDbRulesSource(fake.client, TABLE, { cacheSeconds: 5, staleSeconds: 60, now: clock().now });
    expect(await source.rulesFor('A')).toMatchObject({ status: 'ok', rules: { expected_order_amount: 500 }, scopesFound: ['default', 'order#A'] });
    expect(fake.calls).toEqual([['default', 'order#A'], ['order#A']]);
  });

  it('answers unavailable when a key stays unprocessed after the one retry', async () => {
    const fake = fakeClient({ default: storeDefault });
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    let rounds = 0;
    const stubborn: BatchGetClient = {
      send: async (command) => {
        rounds += 1;
        const output = await fake.client.send(command);
        return { ...output, UnprocessedKeys: { [TABLE]: { Keys: [{ scope: 'order#A' }] } } };
      },
    };
    const source = new DynamoDbRulesSource(stubborn, TABLE, { cacheSeconds: 5, staleSeconds: 60, now: clock().now });
    expect(await source.rulesFor('A')).toEqual({ status: 'unavailable' });
    expect(rounds).toBe(2);
  });

  it('reports each invalid scope with its path and logs scope, path and message but never the value', async () => {
    const fake = fakeClient({
      default: { shipping_countries: ['SE', 'sweden'] },
      'order#A': { expected_order_amount: -5, surprise: 'secret value' },
    });
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const source = new DynamoDbRulesSource(fake.client, TABLE, { cacheSeconds: 5, staleSeconds: 60, now: clock().now });

    const lookup = await source.rulesFor('A');

    expect(lookup.status).toBe('invalid');
    const issues = lookup.status === 'invalid' ? lookup.issues : [];
    expect(issues.map(({ scope, path }) => `${scope}: ${path}`).sort()).toEqual([
      'default: shipping_countries[1]',
      'order#A: (document)',
      'order#A: expected_order_amount',
    ]);
    expect(issues.find((i) => i.path === '(document)')?.message).toBe('unknown field(s): surprise');
    expect(warn).toHaveBeenCalledWith('rules document invalid', expect.objectContaining({ scope: 'default', path: 'shipping_countries[1]' }));
    const logged = JSON.stringify(warn.mock.calls);
    expect(logged).not.toContain('sweden');
    expect(logged).not.toContain('secret value');
  });

  it('keeps at most maxEntries scopes, dropping the least recently used (so default stays)', async () => {
    const fake = fakeClient({});
    const source = new DynamoDbRulesSource(fake.client, TABLE, { cacheSeconds: 60, staleSeconds: 60, now: clock().now, maxEntries: 2 });
    await source.rulesFor('A'); // reads default, order#A
    await source.rulesFor('B'); // default from cache; reads order#B and drops order#A
    await source.rulesFor('A'); // default still cached; order#A read again
    expect(fake.calls).toEqual([['default', 'order#A'], ['order#B'], ['order#A']]);
  });
});

describe('putRules', () => {
  const recorder = () => {
    const sent: unknown[] = [];
    const client = { send: async (command: { input: unknown }) => (sent.push(command.input), { $metadata: {} }) } as unknown as RulesWriteClient;
    return { client, sent };
  };

  it('writes the validated document beside the scope with updated_at and updated_by', async () => {
    const { client, sent } = recorder();
    const result = await putRules(client, TABLE, 'default', { min_order_amount: 100 }, { updatedBy: 'tester', now: () => new Date('2024-05-01T10:00:00Z') });
    expect(result).toEqual({ ok: true, rules: { min_order_amount: 100 } });
    expect(sent).toEqual([
      { TableName: TABLE, Item: { scope: 'default', min_order_amount: 100, updated_at: '2024-05-01T10:00:00.000Z', updated_by: 'tester' } },
    ]);
  });

  it('refuses an invalid document or scope without writing', async () => {
    const { client, sent } = recorder();
    expect(await putRules(client, TABLE, 'order#1', { min_order_amount: 'ten' })).toEqual({
      ok: false,
      issues: [{ scope: 'order#1', path: 'min_order_amount', message: 'expected number' }],
    });
    expect(await putRules(client, TABLE, 'store', {})).toEqual({
      ok: false,
      issues: [{ scope: 'store', path: '(scope)', message: 'a scope is "default" or "order#<order_id>"' }],
    });
    expect(sent).toEqual([]);
  });
});

describe('rulesSource', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('throws at cold start when RULES_TABLE is missing', () => {
    delete process.env.RULES_TABLE;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const store = require('../../functions/shared/rules-store.js') as typeof import('../../functions/shared/rules-store.js');
      expect(() => store.rulesSource()).toThrow('Missing required environment variable RULES_TABLE');
    });
  });

  it('builds one instance per container from the environment', () => {
    process.env.RULES_TABLE = 'rules';
    process.env.RULES_CACHE_SECONDS = '0';
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const store = require('../../functions/shared/rules-store.js') as typeof import('../../functions/shared/rules-store.js');
      const first = store.rulesSource();
      expect(first).toBeInstanceOf(store.DynamoDbRulesSource);
      expect(store.rulesSource()).toBe(first);
    });
  });

  it('rejects a malformed RULES_CACHE_SECONDS', () => {
    process.env.RULES_TABLE = 'rules';
    process.env.RULES_CACHE_SECONDS = 'soon';
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const store = require('../../functions/shared/rules-store.js') as typeof import('../../functions/shared/rules-store.js');
      expect(() => store.rulesSource()).toThrow(/RULES_CACHE_SECONDS/);
    });
  });
});

describe('the example rules npm start seeds', () => {
  it.each([
    ['default', exampleRules],
    ['order#example-order-1', exampleOrderRules],
    ['default', exampleUsRules],
  ])('%s example is a valid rules document', (scope, document) => {
    expect(parseRulesDocument(scope, document)).toEqual({ ok: true, rules: document });
  });

  it('describe a VAT store for SE and DE with a reduced book rate, and a US sales-tax store', () => {
    const store = parseRulesDocument('default', exampleRules);
    const order = parseRulesDocument('order#example-order-1', exampleOrderRules);
    if (!store.ok || !order.ok) throw new Error('examples must parse');
    const merged = mergeRules(store.rules, order.rules);
    expect(merged.tax).toEqual({ mode: 'vat', rates: { SE: 2500, DE: 1900, US: 0 }, reference_rates: { 'BOOK-001': { SE: 600, DE: 700 } } });
    expect(merged.shipping_options?.map((o) => [o.id, o.price, o.preselected ?? false])).toEqual([
      ['standard', 4900, true],
      ['express', 9900, false],
      ['pickup-point', 2900, false],
    ]);
    expect(merged.expected_order_amount).toBe(44800);
    expect(merged.min_order_amount).toBe(100);
    expect(exampleUsRules.tax).toEqual({ mode: 'sales_tax', rates: { 'US-CA': 725, 'US-NY': 400, 'US-WA': 650, 'US-TX': 625, US: 0 }, tax_shipping: false });
  });
});
