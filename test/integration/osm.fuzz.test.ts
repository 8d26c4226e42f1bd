/**
 * Fuzzing the OSM handler as Lambda runs it, against DynamoDB Local and the loopback stand-in for
 * Klarna's OSM API: whatever the path, query, headers or body, the answer is a well-formed
 * 200/204/400/404/413/502 with a JSON `{error}` body on errors, never a 500 or a throw; input that
 * fails the checks never reaches Klarna, and no impression is registered without a served token.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { createTables, startDynamoDb, type RunningDynamoDb } from '../../bin/local/dynamodb-local.js';
import { startFakeOsm, type FakeOsm } from '../../bin/local/fake-osm.js';
import { placementsTable } from '../../lib/tables.js';

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

let db: RunningDynamoDb;
let fake: FakeOsm;
let handler: Handler;
const savedEnv = { ...process.env };
const context = { getRemainingTimeInMillis: () => 3000, functionName: 'osm-fuzz', awsRequestId: 'osm-fuzz' } as unknown as Context;

beforeAll(async () => {
  db = await startDynamoDb();
  const table = `osm-fuzz-${randomUUID().slice(0, 8)}`;
  await createTables(db.endpoint, [placementsTable], () => table);
  fake = await startFakeOsm();
  Object.assign(process.env, { DYNAMODB_ENDPOINT: db.endpoint, PLACEMENTS_TABLE: table, OSM_BASE_URL: fake.url, OSM_CLIENT_ID: 'fuzz', OSM_TIMEOUT_MS: '2000', DYNAMODB_REQUEST_TIMEOUT_MS: '5000' });
  handler = ((await import('../../functions/osm/placement.js')) as { handler: Handler }).handler;
}, 60_000);

afterAll(async () => {
  await fake?.close();
  (await import('../../functions/shared/dynamodb.js')).documentClient().destroy();
  await db?.stop();
  process.env = savedEnv;
});

const expectWellFormed = (result: APIGatewayProxyResult): void => {
  expect([200, 204, 400, 404, 413, 502]).toContain(result.statusCode);
  if (result.statusCode >= 400) {
    const body = JSON.parse(result.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['error']);
    expect(typeof body.error).toBe('string');
  }
};

/** A shopper's browser: a request without a User-Agent gets no token and registers no impression. */
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

const getEvent = (placementKey: string, query: Record<string, string> | null, accept?: string) =>
  ({
    httpMethod: 'GET',
    resource: '/osm/placements/{placement_key}',
    path: `/osm/placements/${placementKey}`,
    headers: accept === undefined ? { 'User-Agent': BROWSER } : { Accept: accept, 'User-Agent': BROWSER },
    multiValueHeaders: {},
    queryStringParameters: query,
    multiValueQueryStringParameters: null,
    pathParameters: { placement_key: placementKey },
    stageVariables: null,
    isBase64Encoded: false,
    body: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  }) as APIGatewayProxyEvent;

const postEvent = (body: string | null, isBase64Encoded = false) =>
  ({
    ...getEvent('', null),
    httpMethod: 'POST',
    resource: '/osm/impressions',
    path: '/osm/impressions',
    pathParameters: null,
    headers: { 'content-type': 'application/json', 'user-agent': BROWSER },
    body,
    isBase64Encoded,
  }) as APIGatewayProxyEvent;

const VALID_KEY = /^[a-z0-9-]{1,64}$/;
const VALID_LOCALE = /^[a-z]{2}-[A-Z]{2}$/;

it('GET with arbitrary placement keys, locales, amounts and Accept headers', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('credit-promotion-badge', 'credit-promotion-badge.html', '../etc/passwd', '%00', 'A'.repeat(65))),
      fc.option(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('en-US', 'sv-SE', 'en_us', 'EN-US')), { nil: undefined }),
      fc.option(
        fc.oneof(fc.string({ maxLength: 14 }), fc.integer({ min: -5, max: 2 ** 32 }).map(String), fc.constantFrom('1e3', '012', '12.5', '2147483648', '-0')),
        { nil: undefined },
      ),
      fc.option(fc.constantFrom('text/html', 'application/json', '*/*', 'text/html;q=0', ''), { nil: undefined }),
      async (key, locale, amount, accept) => {
        const before = fake.requests.length;
        const query: Record<string, string> = {};
        if (locale !== undefined) query.locale = locale;
        if (amount !== undefined) query.purchase_amount = amount;
        const result = await handler(getEvent(key, Object.keys(query).length ? query : null, accept), context);
        expectWellFormed(result);
        const bareKey = key.endsWith('.html') ? key.slice(0, -5) : key;
        // An empty `purchase_amount=` counts as not given (placements that take no amount).
        const validAmount = amount === undefined || amount === '' || (/^(0|[1-9]\d*)$/.test(amount) && Number(amount) < 2 ** 31);
        if (!VALID_KEY.test(bareKey) || locale === undefined || !VALID_LOCALE.test(locale) || !validAmount) {
          expect(result.statusCode).toBe(400);
          expect(fake.requests.length).toBe(before); // Klarna never sees bad input
        }
      },
    ),
    { numRuns: 200 },
  );
});

it('POST /osm/impressions with arbitrary bodies: never a URL from the caller, never a 500', async () => {
  const impressionRecord = fc.record({
    placement_key: fc.oneof(fc.string(), fc.constant('credit-promotion-badge')),
    locale: fc.oneof(fc.string(), fc.constant('en-US')),
    purchase_amount: fc.oneof(fc.integer(), fc.string(), fc.constant(12900)),
    impression_token: fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z0-9_-]{22}$/)),
    // A URL the stand-in would count, had the handler ever followed the caller's.
    impression_url: fc.constant(`${fake.url}/impressions/from-the-caller`),
  });
  // `__proto__:` in an object literal would set the prototype and never be sent; written into the
  // text, the keys really reach the parser.
  const polluting = impressionRecord.map((v) =>
    JSON.stringify(v).replace(/^\{/, '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},'),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        impressionRecord.map((v) => JSON.stringify(v)),
        polluting,
        fc.constant('x'.repeat(5000)),
      ),
      async (body) => {
        const result = await handler(postEvent(body), context);
        expectWellFormed(result);
        // No fuzzed token was ever served, so nothing is registered, through any URL.
        expect(result.statusCode).not.toBe(204);
        expect(fake.impressionHits()).toBe(0);
      },
    ),
    { numRuns: 200 },
  );
  // The polluting keys did reach the handler, and changed nothing.
  const sample = fc.sample(polluting, { numRuns: 1, seed: 1 })[0] ?? '';
  expect(sample.startsWith('{"__proto__":{"polluted":true}')).toBe(true);
  expect((await handler(postEvent(sample), context)).statusCode).toBeGreaterThanOrEqual(400);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect((await handler(postEvent('x'.repeat(5000)), context)).statusCode).toBe(413);
});
