/**
 * The OSM handler against a fake Klarna OSM API on loopback and the cache in DynamoDB Local:
 * through the local server with real HTTP for the routes as the shop sees them, and with direct
 * events (and a handler per simulated container with its own clock) where time has to move.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createTables, localClient, startDynamoDb, type RunningDynamoDb } from '../../bin/local/dynamodb-local.js';
import { lambdaContext, startLocalServer, type LocalServer } from '../../bin/local/server.js';
import { placementsTable } from '../../lib/tables.js';
import { klarnaContent, startFakeOsm, type FakeOsm } from '../../bin/local/fake-osm.js';
import { startFakeSecretsExtension, type FakeSecretsExtension } from '../../bin/local/fake-secrets-extension.js';

jest.setTimeout(30_000);

type PlacementModule = typeof import('../../functions/osm/placement.js');
type ClientModule = typeof import('../../functions/osm/client.js');

const KEY = 'credit-promotion-badge';
const LOCALE = 'en-US';
const CLIENT_ID = 'test-client-id';
// Well above a busy machine's loopback round trip (a normal answer must never time out here),
// low enough that the hanging-Klarna tests stay short.
const TIMEOUT_MS = 2000;
const tableName = `osm-test-${randomUUID().slice(0, 8)}`;

let db: RunningDynamoDb;
let fake: FakeOsm;
// For the tests of credentials in Secrets Manager; its port is read when the secrets module loads.
let extension: FakeSecretsExtension;
let server: LocalServer;
let placement: PlacementModule;
let client: ClientModule;
const savedEnv = { ...process.env };

// Every test uses its own amounts, so tests never share cache entries.
let lastAmount = 10_000;
const nextAmount = (): number => (lastAmount += 100);

beforeAll(async () => {
  db = await startDynamoDb();
  await createTables(db.endpoint, [placementsTable], () => tableName);
  fake = await startFakeOsm();
  extension = await startFakeSecretsExtension();
  // Before the handler module loads: it reads its configuration once, at cold start.
  Object.assign(process.env, {
    DYNAMODB_ENDPOINT: db.endpoint,
    // DynamoDB Local on a busy 2-core machine can pass the 700 ms default; these tests are about
    // OSM's answers, not DynamoDB's latency (the faults tests cover a slow DynamoDB).
    DYNAMODB_REQUEST_TIMEOUT_MS: '5000',
    PLACEMENTS_TABLE: tableName,
    OSM_BASE_URL: fake.url,
    OSM_CLIENT_ID: CLIENT_ID,
    OSM_TIMEOUT_MS: String(TIMEOUT_MS),
    OSM_ALLOWED_ORIGIN: 'https://shop.example',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'SILENT',
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(extension.port),
    AWS_SESSION_TOKEN: extension.sessionToken,
  });
  placement = await import('../../functions/osm/placement.js');
  client = await import('../../functions/osm/client.js');
  server = await startLocalServer({ port: 0 });
});

afterAll(async () => {
  await server?.close();
  await fake?.close();
  await extension?.close();
  (await import('../../functions/shared/dynamodb.js')).documentClient().destroy();
  await db?.stop();
  process.env = savedEnv;
});

beforeEach(() => fake.reset());

// --- helpers ----------------------------------------------------------------------------------

const placementPath = (amount: number, key = KEY, locale = LOCALE): string =>
  `/osm/placements/${key}?locale=${locale}&purchase_amount=${amount}`;

/** A shopper's browser; Node's own fetch says `node`, which isbot counts as a crawler. */
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

const httpGet = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { headers: { 'user-agent': BROWSER, ...headers } });

const httpPostImpression = (body: unknown, userAgent = BROWSER) =>
  fetch(`${server.url}/osm/impressions`, {
    method: 'POST',
    // A string body, as the shop page's snippet sends it: text/plain needs no CORS preflight.
    headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': userAgent },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

type PlacementJson = { html: string; impression_url: string; impression_token: string | null };

/** GET the JSON for `amount` through the local server as a browser. */
const getJson = async (amount: number): Promise<PlacementJson> => {
  const response = await httpGet(placementPath(amount));
  expect(response.status).toBe(200);
  return (await response.json()) as PlacementJson;
};

const getEvent = (amount: number | string, options: { key?: string; locale?: string; accept?: string } = {}): APIGatewayProxyEvent => {
  const key = options.key ?? KEY;
  return {
    resource: '/osm/placements/{placement_key}',
    httpMethod: 'GET',
    path: `/osm/placements/${key}`,
    pathParameters: { placement_key: key },
    queryStringParameters: { locale: options.locale ?? LOCALE, purchase_amount: String(amount) },
    headers: { 'User-Agent': BROWSER, ...(options.accept ? { Accept: options.accept } : {}) },
    body: null,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEvent;
};

const impressionEvent = (body: unknown): APIGatewayProxyEvent =>
  ({
    resource: '/osm/impressions',
    httpMethod: 'POST',
    path: '/osm/impressions',
    pathParameters: null,
    queryStringParameters: null,
    headers: { 'Content-Type': 'application/json', 'User-Agent': BROWSER },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEvent;

/** A handler as a fresh Lambda container would have it (own memory cache), on a clock we move. */
const container = ({
  memoryEntries,
  startAt,
  defaultTtlSeconds,
}: { memoryEntries?: number; startAt?: number; defaultTtlSeconds?: number } = {}) => {
  let now = startAt ?? Date.now();
  const config = {
    ...placement.readOsmConfig(),
    ...(memoryEntries === undefined ? {} : { memoryEntries }),
    ...(defaultTtlSeconds === undefined ? {} : { defaultTtlSeconds }),
  };
  const handler = placement.createOsmHandler({ config, clock: () => now });
  return { handler, now: () => now, advance: (seconds: number) => void (now += seconds * 1000) };
};

const bodyOf = (result: APIGatewayProxyResult): Record<string, unknown> => JSON.parse(result.body) as Record<string, unknown>;

const fetchesFor = (amount: number): number => fake.countRequests({ purchase_amount: String(amount) });

/**
 * Two requests for `amount` in one container: each is a miss answered with `servedCacheControl`,
 * each asks Klarna, and nothing lands in DynamoDB (for answers we must not keep).
 */
const expectAskedEveryTime = async (handler: ReturnType<typeof container>['handler'], amount: number, servedCacheControl: string) => {
  for (let i = 0; i < 2; i += 1) {
    const result = await handler(getEvent(amount));
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'x-cache': 'miss', 'cache-control': servedCacheControl });
  }
  expect(fetchesFor(amount)).toBe(2);
  expect(await storedItem(amount)).toBeUndefined();
};

const storedItem = async (amount: number) => {
  const ddb = localClient(db.endpoint);
  try {
    const out = await ddb.send(
      new GetItemCommand({
        TableName: tableName,
        Key: {
          placement_id: { S: `custom|${fake.url}|${CLIENT_ID}|${KEY}|${LOCALE}` },
          purchase_amount: { N: String(amount) },
        },
      }),
    );
    return out.Item;
  } finally {
    ddb.destroy();
  }
};

// --- through the local server -----------------------------------------------------------------

describe('GET /osm/placements/{placement_key} through the local server', () => {
  it('fetches once on a miss and answers the documented content, Klarna’s impression URL and HTML', async () => {
    const amount = nextAmount();
    const response = await httpGet(placementPath(amount));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('x-cache')).toBe('miss');
    expect(response.headers.get('cache-control')).toBe('public, max-age=60');
    expect(response.headers.get('access-control-allow-origin')).toBe('https://shop.example');

    const impressionUrl = fake.impressionUrlFor({ placement_key: KEY, locale: LOCALE, purchase_amount: String(amount) });
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({
      placement_key: KEY,
      locale: LOCALE,
      purchase_amount: amount,
      // Undocumented fields and the unknown VIDEO node are gone.
      content: {
        nodes: [
          { type: 'TEXT', name: 'TEXT_MAIN', value: `Make 4 payments of $${(amount / 400).toFixed(2)}. No fees.` },
          { type: 'ACTION', name: 'ACTION_LEARN_MORE', label: 'Learn more', url: 'https://www.klarna.com/us/pay-in-4/' },
          { type: 'IMAGE', name: 'KLARNA_BADGE', alt: 'Klarna', url: 'https://x.klarnacdn.net/payment-method/assets/badges/generic/klarna.svg' },
        ],
      },
      impression_url: impressionUrl,
      impression_token: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      html: expect.stringContaining('klarna-osm__text'),
    });
    expect(body.html).toEqual(expect.stringMatching(/rel="noopener">Learn more<\/a>/));
    expect((body.html as string).endsWith(`<img src="${impressionUrl}" alt="" width="1" height="1">`)).toBe(true);

    expect(fetchesFor(amount)).toBe(1);
    expect(fake.requests[0]).toMatchObject({
      path: '/messaging/v3',
      query: { client_id: CLIENT_ID, placement_key: KEY, locale: LOCALE, purchase_amount: String(amount) },
      userAgent: client.USER_AGENT,
      authorization: undefined,
    });
    // Rendering is not showing: no impression registered by the server on a GET.
    expect(fake.impressionHits()).toBe(0);
  });

  it('serves a hit within max-age without asking Klarna, as JSON, as .html and for Accept: text/html', async () => {
    const amount = nextAmount();
    const first = (await (await httpGet(placementPath(amount))).json()) as { html: string };

    const again = await httpGet(placementPath(amount));
    expect(again.headers.get('x-cache')).toBe('hit');
    // What remains of max-age=60: never more, and still some (the code's own 60 s deadline).
    const remaining = Number(/^public, max-age=(\d+)$/.exec(again.headers.get('cache-control') ?? '')?.[1]);
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(60);
    expect(((await again.json()) as { html: string }).html).toBe(first.html);

    const html = await httpGet(`/osm/placements/${KEY}.html?locale=${LOCALE}&purchase_amount=${amount}`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('x-cache')).toBe('hit');
    expect(await html.text()).toBe(first.html);

    const negotiated = await httpGet(placementPath(amount), { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    expect(negotiated.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await negotiated.text()).toBe(first.html);

    expect(fetchesFor(amount)).toBe(1);
  });

  it('fetches again for a new amount: a new key, a new render, a new impression URL', async () => {
    const [a, b] = [nextAmount(), nextAmount()];
    const first = (await (await httpGet(placementPath(a))).json()) as { html: string; impression_url: string };
    const second = await httpGet(placementPath(b));
    expect(second.headers.get('x-cache')).toBe('miss');
    const body = (await second.json()) as { html: string; impression_url: string };
    expect(body.html).not.toBe(first.html);
    expect(body.impression_url).not.toBe(first.impression_url);
    expect(body.html).toContain(`$${(b / 400).toFixed(2)}`);
    expect([fetchesFor(a), fetchesFor(b), fake.requests.length]).toEqual([1, 1, 2]);
  });

  it('shares one fetch among concurrent identical misses in one container', async () => {
    const amount = nextAmount();
    const release = fake.hold();
    const { handler } = container();
    // All six start before Klarna answers: the answer is held until the one fetch has arrived.
    const pending = Array.from({ length: 6 }, () => handler(getEvent(amount)));
    await fake.requestsArrived(1);
    release();
    const results = await Promise.all(pending);
    expect(results.map((r) => [r.statusCode, r.headers?.['x-cache']])).toEqual(Array(6).fill([200, 'miss']));
    expect(new Set(results.map((r) => bodyOf(r).html)).size).toBe(1);
    expect(fetchesFor(amount)).toBe(1);
  });

  it('answers 204 when Klarna has no messaging for the amount, and caches that too', async () => {
    const amount = nextAmount();
    fake.setAnswer({ body: { content: { nodes: [] } } });
    const first = await httpGet(placementPath(amount));
    expect(first.status).toBe(204);
    expect(first.headers.get('x-cache')).toBe('miss');
    expect(first.headers.get('cache-control')).toBe('public, max-age=60');
    expect(await first.text()).toBe('');

    const second = await httpGet(placementPath(amount));
    expect(second.status).toBe(204);
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(fetchesFor(amount)).toBe(1);

    // An empty 204 from Klarna means the same.
    const other = nextAmount();
    fake.setAnswer({ status: 204 });
    expect((await httpGet(placementPath(other))).status).toBe(204);
  });

  it.each([
    ['an upper-case placement key', `/osm/placements/Credit-Promotion?locale=en-US&purchase_amount=100`, 'placement_key'],
    ['a placement key with a dot', `/osm/placements/credit.promotion?locale=en-US&purchase_amount=100`, 'placement_key'],
    ['a 65-character placement key', `/osm/placements/${'a'.repeat(65)}?locale=en-US&purchase_amount=100`, 'placement_key'],
    ['no locale', `/osm/placements/${KEY}?purchase_amount=100`, 'locale'],
    ['a locale that is not like en-US', `/osm/placements/${KEY}?locale=english&purchase_amount=100`, 'locale'],
    ['a negative amount', `/osm/placements/${KEY}?locale=en-US&purchase_amount=-5`, 'purchase_amount'],
    ['a fractional amount', `/osm/placements/${KEY}?locale=en-US&purchase_amount=12.5`, 'purchase_amount'],
    ['an amount of 2^31', `/osm/placements/${KEY}?locale=en-US&purchase_amount=2147483648`, 'purchase_amount'],
    ['an amount in exponent notation', `/osm/placements/${KEY}?locale=en-US&purchase_amount=1e3`, 'purchase_amount'],
  ])('answers 400 for %s and asks Klarna nothing', async (_name, path, field) => {
    const response = await httpGet(path);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await response.json()) as { error: string };
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toContain(field);
    expect(fake.requests).toHaveLength(0);
  });

  it('answers 502 "OSM API access is not enabled for this client id" when Klarna says 403', async () => {
    const amount = nextAmount();
    fake.setAnswer({ status: 403, body: { error_code: 'FORBIDDEN' } });
    const response = await httpGet(placementPath(amount));
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ error: 'OSM API access is not enabled for this client id' });
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(fetchesFor(amount)).toBe(1);
  });

  it('answers 400 when Klarna rejects the request and 502 when its answer is unreadable', async () => {
    const rejected = nextAmount();
    fake.setAnswer({ status: 400, body: { error_code: 'BAD_VALUE' } });
    const response = await httpGet(placementPath(rejected));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'Klarna rejected this placement_key, locale or purchase_amount' });

    const garbled = nextAmount();
    fake.setAnswer({ body: '<html>gateway</html>' });
    const bad = await httpGet(placementPath(garbled));
    expect(bad.status).toBe(502);
    expect(await bad.json()).toEqual({ error: "Klarna's OSM API is unavailable" });
  });
});

describe('POST /osm/impressions through the local server', () => {
  it('registers one impression per served token: the cached URL once, then 404 for the spent token', async () => {
    const amount = nextAmount();
    const placed = await getJson(amount);
    expect(fake.impressionHits(placed.impression_url)).toBe(0);
    const body = { impression_token: placed.impression_token, placement_key: KEY, locale: LOCALE, purchase_amount: amount };

    const first = await httpPostImpression(body);
    expect(first.status).toBe(204);
    expect(await first.text()).toBe('');
    expect(fake.impressionHits(placed.impression_url)).toBe(1);

    const again = await httpPostImpression(body);
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ error: 'Unknown or spent impression_token' });
    expect(fake.impressionHits()).toBe(1);
    expect(fetchesFor(amount)).toBe(1);
  });

  it('gives every served answer its own token, hits included', async () => {
    const amount = nextAmount();
    const [a, b] = [await getJson(amount), await getJson(amount)];
    expect(a.impression_token).not.toBe(b.impression_token);
    for (const token of [a.impression_token, b.impression_token]) {
      expect((await httpPostImpression({ impression_token: token, placement_key: KEY, locale: LOCALE, purchase_amount: amount })).status).toBe(204);
    }
    expect(fake.impressionHits()).toBe(2);
  });

  it('answers 404 and calls nothing for a missing, malformed, unknown or mismatched token; a URL in the body is ignored', async () => {
    const amount = nextAmount();
    const placed = await getJson(amount);
    const other = nextAmount();
    await getJson(other);
    const base = { placement_key: KEY, locale: LOCALE, purchase_amount: amount };
    for (const body of [
      base,
      { ...base, impression_token: 'short' },
      { ...base, impression_token: 12 },
      { ...base, impression_token: 'A'.repeat(22) },
      // The right token for another amount, locale or placement key.
      { ...base, purchase_amount: other, impression_token: placed.impression_token },
      { ...base, locale: 'sv-SE', impression_token: placed.impression_token },
      { ...base, placement_key: 'top-strip-promotion-badge', impression_token: placed.impression_token },
    ]) {
      const response = await httpPostImpression({ ...body, impression_url: `${fake.url}/impressions/forged` });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: 'Unknown or spent impression_token' });
    }
    expect(fake.impressionHits()).toBe(0);
    // The mismatched attempts did not spend it.
    expect((await httpPostImpression({ ...base, impression_token: placed.impression_token })).status).toBe(204);
    expect(fake.impressionHits(placed.impression_url)).toBe(1);
  });

  it('answers 502 when Klarna does not accept the impression, and the token is spent', async () => {
    const amount = nextAmount();
    const placed = await getJson(amount);
    fake.impressionStatus = 500;
    const body = { impression_token: placed.impression_token, placement_key: KEY, locale: LOCALE, purchase_amount: amount };
    const response = await httpPostImpression(body);
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ error: 'Klarna did not register the impression' });
    expect((await httpPostImpression(body)).status).toBe(404);
    expect(fake.impressionHits()).toBe(1);
  });

  it('gives crawlers the content but no token, refuses their impressions with 403 and leaves the token unspent', async () => {
    const amount = nextAmount();
    const crawled = await httpGet(placementPath(amount), { 'user-agent': GOOGLEBOT });
    expect(crawled.status).toBe(200);
    const body = (await crawled.json()) as PlacementJson;
    expect(body.impression_token).toBeNull();
    expect(body.html).toContain('klarna-osm__text');

    const placed = await getJson(amount);
    const post = { impression_token: placed.impression_token, placement_key: KEY, locale: LOCALE, purchase_amount: amount };
    for (const agent of [GOOGLEBOT, 'curl/8.5.0']) {
      const refused = await httpPostImpression(post, agent);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual({ error: 'Requests from crawlers register no impression' });
    }
    expect(fake.impressionHits()).toBe(0);
    expect((await httpPostImpression(post)).status).toBe(204);
    expect(fake.impressionHits()).toBe(1);
  });

  it('gives a request without a User-Agent no token and refuses its impression, as a crawler\'s', async () => {
    const amount = nextAmount();
    const { apiGatewayEvent } = await import('../../bin/local/server.js');
    const { handler } = await import('../../functions/osm/placement.js');
    const event = apiGatewayEvent({
      method: 'GET',
      resource: '/osm/placements/{placement_key}',
      path: `/osm/placements/${KEY}`,
      pathParameters: { placement_key: KEY },
      query: { locale: LOCALE, purchase_amount: String(amount) },
      headers: { accept: 'application/json' },
    });
    const answer = await handler(event, lambdaContext('OsmPlacementFunction'));
    expect(answer.statusCode).toBe(200);
    expect((JSON.parse(answer.body) as PlacementJson).impression_token).toBeNull();
    const placed = await getJson(amount);
    const post = { impression_token: placed.impression_token, placement_key: KEY, locale: LOCALE, purchase_amount: amount };
    expect((await httpPostImpression(post, '')).status).toBe(403);
    expect(fake.impressionHits()).toBe(0);
  });

  it('keeps the HTML and its beacon as they are, without a token', async () => {
    const amount = nextAmount();
    const response = await httpGet(`/osm/placements/${KEY}.html?locale=${LOCALE}&purchase_amount=${amount}`);
    const html = await response.text();
    const impressionUrl = fake.impressionUrlFor({ placement_key: KEY, locale: LOCALE, purchase_amount: String(amount) });
    expect(html.endsWith(`<img src="${impressionUrl}" alt="" width="1" height="1">`)).toBe(true);
    expect(html).not.toContain('impression_token');
  });

  it.each([
    ['malformed JSON', '{"placement_key":'],
    ['a JSON array', '[]'],
    ['a bad amount', JSON.stringify({ placement_key: KEY, locale: LOCALE, purchase_amount: -1 })],
    ['a bad locale', JSON.stringify({ placement_key: KEY, locale: 'xx', purchase_amount: 100 })],
  ])('answers 400 for %s and calls nothing', async (_name, body) => {
    const response = await httpPostImpression(body);
    expect(response.status).toBe(400);
    expect(Object.keys((await response.json()) as object)).toEqual(['error']);
    expect(fake.requests).toHaveLength(0);
    expect(fake.impressionHits()).toBe(0);
  });
});

// --- direct events, with a clock we move ------------------------------------------------------

describe('OSM cache freshness with a moving clock', () => {
  it('tells the remaining max-age, then refetches once max-age has passed', async () => {
    const amount = nextAmount();
    const { handler, advance } = container();
    expect((await handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'miss', 'cache-control': 'public, max-age=60' });
    advance(15.5);
    expect((await handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'hit', 'cache-control': 'public, max-age=44' });
    advance(44);
    expect((await handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'hit', 'cache-control': 'public, max-age=0' });
    expect(fetchesFor(amount)).toBe(1);
    advance(1);
    expect((await handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'miss', 'cache-control': 'public, max-age=60' });
    expect(fetchesFor(amount)).toBe(2);
  });

  it('keeps the entry in DynamoDB for other containers, with its times and TTL attribute', async () => {
    const amount = nextAmount();
    fake.setAnswer({ cacheControl: 'max-age=120, stale-if-error=600' });
    const first = container();
    await first.handler(getEvent(amount));

    const item = await storedItem(amount);
    const fetchedAt = Number(item?.fetched_at_ms?.N);
    expect(Number(item?.fresh_until_ms?.N)).toBe(fetchedAt + 120_000);
    expect(Number(item?.stale_until_ms?.N)).toBe(fetchedAt + 720_000);
    expect(Number(item?.expires_at?.N)).toBe(Math.ceil((fetchedAt + 720_000) / 1000));
    expect(item?.impression_url?.S).toBe(fake.impressionUrlFor({ placement_key: KEY, locale: LOCALE, purchase_amount: String(amount) }));

    // A second container (no memory layer at all) is served from DynamoDB.
    const second = container({ memoryEntries: 0, startAt: first.now() });
    const result = await second.handler(getEvent(amount));
    expect(result.headers).toMatchObject({ 'x-cache': 'hit', 'cache-control': 'public, max-age=120' });
    expect(fetchesFor(amount)).toBe(1);
  });

  it('never stores a no-store answer', async () => {
    const amount = nextAmount();
    fake.setAnswer({ cacheControl: 'no-store' });
    const { handler } = container();
    await expectAskedEveryTime(handler, amount, 'no-store');
    // Nothing of it is kept, not even an impression token: the page's beacon registers it.
    expect(bodyOf(await handler(getEvent(amount))).impression_token).toBeNull();
  });

  it('asks Klarna every time when it sends no Cache-Control', async () => {
    const amount = nextAmount();
    fake.setAnswer({ cacheControl: null });
    const { handler } = container();
    await handler(getEvent(amount));
    const second = await handler(getEvent(amount));
    expect(second.headers).toMatchObject({ 'x-cache': 'miss' });
    expect(fetchesFor(amount)).toBe(2);
  });

  it('serves stale within stale-if-error when Klarna answers 503, and 502 after the window', async () => {
    const amount = nextAmount();
    const { handler, advance } = container();
    fake.setAnswer({ cacheControl: 'max-age=10, stale-if-error=30' });
    const fresh = await handler(getEvent(amount));

    fake.setAnswer({ status: 503 });
    advance(20);
    const stale = await handler(getEvent(amount));
    expect(stale.statusCode).toBe(200);
    expect(stale.headers).toMatchObject({ 'x-cache': 'stale', 'cache-control': 'public, max-age=0' });
    expect(bodyOf(stale).html).toBe(bodyOf(fresh).html);

    advance(21); // 41 s after the fetch: past 10 + 30
    const late = await handler(getEvent(amount));
    expect(late.statusCode).toBe(502);
    expect(bodyOf(late)).toEqual({ error: "Klarna's OSM API is unavailable" });
    expect(fetchesFor(amount)).toBe(3);
  });

  it('serves stale within stale-if-error when Klarna hangs past the timeout, and 502 after the window', async () => {
    const amount = nextAmount();
    const { handler, advance } = container();
    fake.setAnswer({ cacheControl: 'max-age=10, stale-if-error=30' });
    await handler(getEvent(amount));

    fake.setAnswer({ hang: true });
    advance(15);
    const stale = await handler(getEvent(amount));
    expect(stale.statusCode).toBe(200);
    expect(stale.headers).toMatchObject({ 'x-cache': 'stale' });
    expect(fetchesFor(amount)).toBe(2);

    // Right after a failure the stale copy serves without waiting for Klarna again.
    advance(1);
    expect((await handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'stale' });
    expect(fetchesFor(amount)).toBe(2);

    advance(29); // 45 s after the fetch: past 10 + 30
    const late = await handler(getEvent(amount));
    expect(late.statusCode).toBe(502);
    expect(fetchesFor(amount)).toBe(3);
  });

  it('answers 502 when Klarna fails and there is no copy at all', async () => {
    const amount = nextAmount();
    fake.setAnswer({ status: 500 });
    const result = await container().handler(getEvent(amount));
    expect(result.statusCode).toBe(502);
    expect(bodyOf(result)).toEqual({ error: "Klarna's OSM API is unavailable" });
  });

  it('answers a failing key from its remembered failure for 5 s, without a copy and without asking Klarna', async () => {
    const amount = nextAmount();
    const { handler, advance } = container();
    fake.setAnswer({ status: 500 });
    for (let i = 0; i < 3; i += 1) {
      const result = await handler(getEvent(amount));
      expect(result.statusCode).toBe(502);
      expect(bodyOf(result)).toEqual({ error: "Klarna's OSM API is unavailable" });
    }
    expect(fetchesFor(amount)).toBe(1);
    advance(5);
    fake.setAnswer({});
    expect((await handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'miss' });
    expect(fetchesFor(amount)).toBe(2);
  });

  it('remembers Klarna’s refusal (400) as briefly as an outage', async () => {
    const amount = nextAmount();
    const { handler, advance } = container();
    fake.setAnswer({ status: 400, body: { error_code: 'BAD_VALUE' } });
    expect((await handler(getEvent(amount))).statusCode).toBe(400);
    advance(4.999);
    expect((await handler(getEvent(amount))).statusCode).toBe(400);
    expect(fetchesFor(amount)).toBe(1);
    advance(0.001);
    expect((await handler(getEvent(amount))).statusCode).toBe(400);
    expect(fetchesFor(amount)).toBe(2);
  });

  it('mints tokens for a stale copy; a token expires after 10 minutes, and one container cannot spend another’s twice', async () => {
    const amount = nextAmount();
    const first = container({ memoryEntries: 0 });
    fake.setAnswer({ cacheControl: 'max-age=10, stale-if-error=600' });
    await first.handler(getEvent(amount));
    fake.setAnswer({ status: 503 });
    first.advance(15);
    const stale = await first.handler(getEvent(amount));
    expect(stale.headers).toMatchObject({ 'x-cache': 'stale' });
    const token = bodyOf(stale).impression_token as string;
    const post = { impression_token: token, placement_key: KEY, locale: LOCALE, purchase_amount: amount };
    // Two containers redeem the same token at once: exactly one registers it.
    const second = container({ memoryEntries: 0, startAt: first.now() });
    const both = await Promise.all([first.handler(impressionEvent(post)), second.handler(impressionEvent(post))]);
    expect(both.map((r) => r.statusCode).sort()).toEqual([204, 404]);
    expect(fake.impressionHits()).toBe(1);

    const late = bodyOf(await first.handler(getEvent(amount))).impression_token as string;
    first.advance(600);
    expect((await first.handler(impressionEvent({ ...post, impression_token: late }))).statusCode).toBe(404);
    expect(fake.impressionHits()).toBe(1);
  });

  it('mints no token for an impression URL the server would not call, and calls none', async () => {
    const foreign = await startFakeOsm();
    try {
      const { handler } = container();
      for (const [impressionUrl, minted] of [
        [`${foreign.url}/impressions/elsewhere`, false], // loopback, but not OSM_BASE_URL's origin
        ['https://evt.klarnaservices.com.evil.example/bb', false],
        ['javascript:alert(1)', false],
        ['http://evt-na.playground.klarnaservices.com/v1/osm-client-script/1.0.0/bb?d=x', true], // Klarna's host: called as https
      ] as const) {
        const amount = nextAmount();
        fake.setAnswer((request) => ({ body: { ...(klarnaContent(request.query, '') as object), impression_url: impressionUrl } }));
        const token = bodyOf(await handler(getEvent(amount))).impression_token;
        expect([impressionUrl, token === null ? false : typeof token === 'string']).toEqual([impressionUrl, minted]);
      }
      expect(foreign.impressionHits()).toBe(0);
    } finally {
      await foreign.close();
    }
  });

  it('passes no http link or image on, in the JSON as in the HTML', async () => {
    const amount = nextAmount();
    fake.setAnswer((request) => {
      const base = klarnaContent(request.query, fake.impressionUrlFor(request.query)) as { content: { nodes: object[] } };
      return {
        body: {
          ...base,
          content: {
            nodes: [
              ...base.content.nodes,
              { type: 'ACTION', label: 'Plain', url: 'http://www.klarna.com/us/' },
              { type: 'ACTION', label: 'Script', url: 'javascript:alert(1)' },
            ],
          },
        },
      };
    });
    const json = bodyOf(await container().handler(getEvent(amount)));
    const urls = (json.content as { nodes: { url?: string }[] }).nodes.flatMap((n) => (n.url === undefined ? [] : [n.url]));
    expect(urls).toEqual(['https://www.klarna.com/us/pay-in-4/', 'https://x.klarnacdn.net/payment-method/assets/badges/generic/klarna.svg']);
    expect(json.html).not.toMatch(/http:\/\/www|javascript:|>Plain<|>Script</);
  });
});

describe("OSM honours Klarna's Cache-Control and Age", () => {
  it('keeps a private answer out of memory and DynamoDB, serves it to its caller alone, as private', async () => {
    const amount = nextAmount();
    fake.setAnswer({ cacheControl: 'private, max-age=60' });
    const { handler, now } = container();
    await expectAskedEveryTime(handler, amount, 'private, max-age=60');
    const other = container({ memoryEntries: 0, startAt: now() });
    expect((await other.handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'miss' });
    expect(fetchesFor(amount)).toBe(3);
  });

  it('does not share a private answer among concurrent shoppers through the local server', async () => {
    const amount = nextAmount();
    fake.setAnswer({ cacheControl: 'private, max-age=60', age: '15' });
    // The first answer is held until Klarna has been asked; whoever waits on it must then ask for its own.
    const release = fake.hold();
    const pending = Promise.all(Array.from({ length: 3 }, () => httpGet(placementPath(amount))));
    await fake.requestsArrived(1);
    release();
    const responses = await pending;
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(responses.map((r) => r.headers.get('cache-control'))).toEqual(Array(3).fill('private, max-age=45'));
    expect(fetchesFor(amount)).toBe(3);
    expect(await storedItem(amount)).toBeUndefined();
  });

  it('counts Klarna’s Age against max-age, and ignores an invalid Age', async () => {
    const amount = nextAmount();
    fake.setAnswer({ cacheControl: 'max-age=60', age: '45' });
    const { handler, advance } = container();
    expect((await handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'miss', 'cache-control': 'public, max-age=15' });
    const item = await storedItem(amount);
    expect(Number(item?.fresh_until_ms?.N)).toBe(Number(item?.fetched_at_ms?.N) + 15_000);
    advance(14);
    expect((await handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'hit', 'cache-control': 'public, max-age=1' });
    advance(1);
    expect((await handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'miss' });
    expect(fetchesFor(amount)).toBe(2);

    const invalid = nextAmount();
    fake.setAnswer({ cacheControl: 'max-age=60', age: 'soon' });
    expect((await handler(getEvent(invalid))).headers).toMatchObject({ 'x-cache': 'miss', 'cache-control': 'public, max-age=60' });
  });

  it('keeps a copy for s-maxage but tells browsers only what remains of max-age', async () => {
    const amount = nextAmount();
    fake.setAnswer({ cacheControl: 'max-age=10, s-maxage=120' });
    const first = container();
    expect((await first.handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'miss', 'cache-control': 'public, max-age=10' });
    const item = await storedItem(amount);
    const fetchedAt = Number(item?.fetched_at_ms?.N);
    expect(Number(item?.fresh_until_ms?.N)).toBe(fetchedAt + 120_000);
    expect(Number(item?.max_age_until_ms?.N)).toBe(fetchedAt + 10_000);

    first.advance(4);
    expect((await first.handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'hit', 'cache-control': 'public, max-age=6' });
    first.advance(26);
    expect((await first.handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'hit', 'cache-control': 'public, max-age=0' });
    const second = container({ memoryEntries: 0, startAt: first.now() });
    expect((await second.handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'hit', 'cache-control': 'public, max-age=0' });
    expect(fetchesFor(amount)).toBe(1);

    const sharedOnly = nextAmount();
    fake.setAnswer({ cacheControl: 's-maxage=120' });
    expect((await first.handler(getEvent(sharedOnly))).headers).toMatchObject({ 'x-cache': 'miss', 'cache-control': 'public, max-age=0' });
    expect((await first.handler(getEvent(sharedOnly))).headers).toMatchObject({ 'x-cache': 'hit', 'cache-control': 'public, max-age=0' });
    expect(fetchesFor(sharedOnly)).toBe(1);
  });

  it('applies OSM_DEFAULT_TTL_SECONDS only when Klarna says nothing about freshness', async () => {
    const { handler, advance } = container({ defaultTtlSeconds: 300 });
    for (const cacheControl of ['no-cache', 'max-age=0']) {
      const amount = nextAmount();
      fake.setAnswer({ cacheControl });
      for (let i = 0; i < 2; i += 1) {
        expect((await handler(getEvent(amount))).headers).toMatchObject({ 'x-cache': 'miss', 'cache-control': 'no-store' });
      }
      expect(fetchesFor(amount)).toBe(2);
      expect(await storedItem(amount)).toBeUndefined();
    }

    const silent = nextAmount();
    fake.setAnswer({ cacheControl: null });
    expect((await handler(getEvent(silent))).headers).toMatchObject({ 'x-cache': 'miss', 'cache-control': 'public, max-age=300' });
    advance(100);
    expect((await handler(getEvent(silent))).headers).toMatchObject({ 'x-cache': 'hit', 'cache-control': 'public, max-age=200' });
    expect(fetchesFor(silent)).toBe(1);
  });
});

describe('OSM with its client id in the environment and its credentials in Secrets Manager (the stack with osmClientId)', () => {
  let saved: NodeJS.ProcessEnv;
  let secrets = 0;

  beforeEach(() => {
    saved = { ...process.env };
  });
  afterEach(() => {
    process.env = saved;
  });

  /** A new container whose OSM credentials secret holds `value` (a secret of its own: no cache shared). */
  const containerWithSecret = (value: unknown) => {
    secrets += 1;
    const arn = `arn:aws:secretsmanager:eu-north-1:123456789012:secret:Osm${secrets}-AbCdEf`;
    extension.setSecret(arn, JSON.stringify(value));
    process.env.OSM_CREDENTIALS_SECRET_ARN = arn;
    return { arn, handler: placement.createOsmHandler() };
  };

  it('reads no secret for a cached placement, and the secret only when Klarna is asked (v4 credentials)', async () => {
    fake.v4Credentials = { username: 'osm-user', password: 'osm-pass' };
    const amount = nextAmount();
    // The first container misses: it reads its secret, once, for the v4 credentials Klarna needs.
    const first = containerWithSecret({ username: 'osm-user', password: 'osm-pass' });
    expect(extension.calls(first.arn)).toBe(0);
    const fetched = await first.handler(getEvent(amount));
    expect(fetched).toMatchObject({ statusCode: 200, headers: { 'x-cache': 'miss' } });
    expect(extension.calls(first.arn)).toBe(1);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.query.client_id).toBe(CLIENT_ID);
    expect(fake.requests[0]?.authorization).toBe(`Basic ${Buffer.from('osm-user:osm-pass').toString('base64')}`);
    // A second, cold container finds it in DynamoDB under the same client id: no secret, no Klarna.
    const second = containerWithSecret({ username: 'osm-user', password: 'osm-pass' });
    expect(await second.handler(getEvent(amount))).toMatchObject({ statusCode: 200, headers: { 'x-cache': 'hit' } });
    expect(extension.calls(second.arn)).toBe(0);
    expect(fake.requests).toHaveLength(1);
  });

  it('asks v3 with the client id alone while the secret is as the stack created it (empty)', async () => {
    const { arn, handler } = containerWithSecret({ client_id: '', username: '', password: '' });
    expect(await handler(getEvent(nextAmount()))).toMatchObject({ statusCode: 200 });
    expect(extension.calls(arn)).toBe(1);
    expect(fake.requests[0]).toMatchObject({ path: '/messaging/v3', query: { client_id: CLIENT_ID }, authorization: undefined });
  });

  it('answers 503 "not configured" when the secret names another client id, and asks Klarna nothing', async () => {
    const { handler } = containerWithSecret({ client_id: 'another-client', username: 'osm-user', password: 'osm-pass' });
    const answer = await handler(getEvent(nextAmount()));
    expect(answer.statusCode).toBe(503);
    expect(bodyOf(answer)).toEqual({ error: 'On-site messaging is not configured' });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('OSM: the rest of the contract', () => {
  it('answers 503 "On-site messaging is not configured" while the credentials secret is empty, and calls nothing', async () => {
    const config = placement.readOsmConfig();
    const fresh = placement.createOsmHandler({
      // The secret-only configuration: the empty secret's client id keys the cache, so nothing is found.
      config: {
        ...config,
        client: {
          ...config.client,
          clientId: async () => client.credentialsFrom({ clientId: '', username: '', password: '' }).clientId,
          credentials: async () => client.credentialsFrom({ clientId: '', username: '', password: '' }),
        },
      },
    });
    for (const event of [getEvent(nextAmount()), impressionEvent({ impression_token: 'A'.repeat(22), placement_key: KEY, locale: LOCALE, purchase_amount: 100 })]) {
      const result = await fresh(event);
      expect(result.statusCode).toBe(503);
      expect(bodyOf(result)).toEqual({ error: 'On-site messaging is not configured' });
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('serves the placement without a token when the token cannot be stored, and answers 500 when a token cannot be redeemed', async () => {
    const { createDocumentClient } = await import('../../functions/shared/dynamodb.js');
    const { DynamoImpressionTokens } = await import('../../functions/osm/store.js');
    // The real adapter against a closed loopback port: DynamoDB unreachable for the tokens only.
    const unreachable = createDocumentClient('http://127.0.0.1:9');
    try {
      const handler = placement.createOsmHandler({ tokens: new DynamoImpressionTokens(unreachable, tableName) });
      const amount = nextAmount();
      const served = await handler(getEvent(amount));
      expect(served.statusCode).toBe(200);
      expect(bodyOf(served)).toMatchObject({ impression_token: null, html: expect.stringContaining('klarna-osm__text') });
      const post = await handler(impressionEvent({ impression_token: 'A'.repeat(22), placement_key: KEY, locale: LOCALE, purchase_amount: amount }));
      expect(post.statusCode).toBe(500);
      expect(bodyOf(post)).toEqual({ error: 'Internal error' });
      expect(fake.impressionHits()).toBe(0);
    } finally {
      unreachable.destroy();
    }
  });

  it('answers 500 with a generic message when something unexpected fails', async () => {
    const config = placement.readOsmConfig();
    const broken = placement.createOsmHandler({
      config: { ...config, client: { ...config.client, credentials: () => Promise.reject(new Error('secret unreadable')) } },
    });
    const result = await broken(getEvent(nextAmount()));
    expect(result.statusCode).toBe(500);
    expect(bodyOf(result)).toEqual({ error: 'Internal error' });
    expect(fake.requests).toHaveLength(0);
  });

  it('answers 404 for a route it does not serve', async () => {
    const result = await container().handler({ ...getEvent(100), resource: '/osm/other', httpMethod: 'GET' });
    expect(result.statusCode).toBe(404);
    expect(bodyOf(result)).toEqual({ error: 'Not found' });
  });

  it('calls v4 with HTTP Basic credentials', async () => {
    fake.v4Credentials = { username: 'osm-user', password: 's3cret:with-colon' };
    const endpoint = client.resolveEndpoint({ baseUrl: fake.url });
    const request = { placementKey: KEY, locale: LOCALE, purchaseAmount: nextAmount() };
    const v4 = { apiVersion: 'v4', clientId: 'klarna_test_client_abc', ...fake.v4Credentials } as const;
    const ok = await client.fetchPlacement({ endpoint, timeoutMs: TIMEOUT_MS }, v4, request);
    expect(ok.ok).toBe(true);
    expect(fake.requests[0]).toMatchObject({ path: '/messaging/v4', query: { client_id: 'klarna_test_client_abc' } });
    expect(fake.requests[0]?.authorization).toBe(`Basic ${Buffer.from('osm-user:s3cret:with-colon').toString('base64')}`);

    const wrong = await client.fetchPlacement({ endpoint, timeoutMs: TIMEOUT_MS }, { ...v4, password: 'nope' }, request);
    expect(wrong).toMatchObject({ ok: false, failure: { kind: 'misconfigured', status: 401 }, errorCode: 'UNAUTHORIZED' });
    expect(wrong.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('fake: refuses a request without a User-Agent with 403, as Klarna does', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      // node:http sends no User-Agent of its own (fetch would).
      const req = httpRequest(`${fake.url}/messaging/v3?client_id=c&placement_key=${KEY}&locale=${LOCALE}`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });
});
