import {
  LOCAL_CLIENT_ID,
  OsmNotConfigured,
  USER_AGENT,
  baseUrlFor,
  checkPlacementRequest,
  credentialsFrom,
  documentedContent,
  impressionTarget,
  placementUrl,
  readClientConfig,
  resolveEndpoint,
} from '../../functions/osm/client.js';

describe('OSM checkPlacementRequest', () => {
  const good = { placement_key: 'credit-promotion-badge', locale: 'en-US', purchase_amount: '12900' };

  it('accepts a placement key, a locale and an amount in minor units', () => {
    expect(checkPlacementRequest(good)).toEqual({
      ok: true,
      value: { placementKey: 'credit-promotion-badge', locale: 'en-US', purchaseAmount: 12900 },
    });
    expect(checkPlacementRequest({ ...good, purchase_amount: 0 })).toMatchObject({ ok: true, value: { purchaseAmount: 0 } });
    expect(checkPlacementRequest({ ...good, purchase_amount: 2 ** 31 - 1 })).toMatchObject({ ok: true });
    expect(checkPlacementRequest({ ...good, purchase_amount: String(2 ** 31 - 1) })).toMatchObject({ ok: true });
  });

  it('accepts no amount for placements that take none', () => {
    expect(checkPlacementRequest({ placement_key: 'top-strip-promotion-badge', locale: 'en-GB' })).toMatchObject({
      ok: true,
      value: { purchaseAmount: null },
    });
  });

  it.each([
    ['', 'placement_key'],
    ['Credit-Promotion', 'placement_key'],
    ['credit_promotion', 'placement_key'],
    ['../etc/passwd', 'placement_key'],
    ['a'.repeat(65), 'placement_key'],
    ['credit-promotion-badge.html', 'placement_key'],
  ])('refuses the placement key %j', (placementKey, field) => {
    const result = checkPlacementRequest({ ...good, placement_key: placementKey });
    expect(result).toEqual({ ok: false, message: expect.stringContaining(field) });
  });

  it.each(['en', 'en_US', 'EN-us', 'en-USA', 'english', 'en-US;x', 42])('refuses the locale %j', (locale) => {
    expect(checkPlacementRequest({ ...good, locale })).toEqual({ ok: false, message: expect.stringContaining('locale') });
  });

  it.each(['-1', '1.5', '1e3', '0x10', ' 12', '012', 'abc', String(2 ** 31), -1, 1.5, 2 ** 31, Number.NaN, true, {}])(
    'refuses the purchase amount %j',
    (amount) => {
      expect(checkPlacementRequest({ ...good, purchase_amount: amount })).toEqual({
        ok: false,
        message: expect.stringContaining('purchase_amount'),
      });
    },
  );
});

describe('OSM endpoint selection', () => {
  it.each([
    ['eu', 'playground', 'https://api.playground.klarna.com'],
    ['eu', 'production', 'https://api.klarna.com'],
    ['na', 'playground', 'https://api-na.playground.klarna.com'],
    ['na', 'production', 'https://api-na.klarna.com'],
    ['oc', 'playground', 'https://api-oc.playground.klarna.com'],
    ['oc', 'production', 'https://api-oc.klarna.com'],
  ] as const)('uses Klarna’s base for %s × %s', (region, environment, base) => {
    expect(baseUrlFor(region, environment)).toBe(base);
    expect(resolveEndpoint({ region, environment })).toEqual({ baseUrl: base, id: `${environment}|${region}` });
  });

  it('defaults to the EU playground and reads region and environment case-insensitively', () => {
    expect(resolveEndpoint({})).toEqual({ baseUrl: 'https://api.playground.klarna.com', id: 'playground|eu' });
    expect(resolveEndpoint({ region: 'NA', environment: 'Production' }).baseUrl).toBe('https://api-na.klarna.com');
  });

  it('takes OSM_BASE_URL over region and environment, without a trailing slash', () => {
    expect(resolveEndpoint({ baseUrl: 'http://127.0.0.1:4010/', region: 'na', environment: 'production' })).toEqual({
      baseUrl: 'http://127.0.0.1:4010',
      id: 'custom|http://127.0.0.1:4010',
    });
  });

  it('refuses an unknown region, environment or a non-http base URL', () => {
    expect(() => resolveEndpoint({ region: 'us' })).toThrow(/OSM_REGION/);
    expect(() => resolveEndpoint({ environment: 'test' })).toThrow(/OSM_ENVIRONMENT/);
    expect(() => resolveEndpoint({ baseUrl: 'file:///etc' })).toThrow(/OSM_BASE_URL/);
    expect(() => resolveEndpoint({ baseUrl: 'not a url' })).toThrow(/OSM_BASE_URL/);
  });

  it('builds the v3 query with client_id and the v4 URL for API credentials', () => {
    const endpoint = resolveEndpoint({});
    const request = { placementKey: 'credit-promotion-badge', locale: 'en-US', purchaseAmount: 12900 };
    expect(placementUrl(endpoint, { apiVersion: 'v3', clientId: 'abc 1' }, request)).toBe(
      'https://api.playground.klarna.com/messaging/v3?client_id=abc+1&placement_key=credit-promotion-badge&locale=en-US&purchase_amount=12900',
    );
    expect(
      placementUrl(endpoint, { apiVersion: 'v4', clientId: 'klarna_test_client_x', username: 'u', password: 'p' }, { ...request, purchaseAmount: null }),
    ).toBe('https://api.playground.klarna.com/messaging/v4?client_id=klarna_test_client_x&placement_key=credit-promotion-badge&locale=en-US');
  });
});

describe('OSM credentials and configuration', () => {
  const saved = { ...process.env };
  const names = ['OSM_BASE_URL', 'OSM_REGION', 'OSM_ENVIRONMENT', 'OSM_CLIENT_ID', 'OSM_USERNAME', 'OSM_PASSWORD', 'OSM_TIMEOUT_MS', 'OSM_CREDENTIALS_SECRET_ARN'];
  beforeEach(() => {
    for (const name of names) delete process.env[name];
  });
  afterAll(() => {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('uses v3 with a client id alone and v4 with a username and password', () => {
    expect(credentialsFrom({ clientId: 'c' })).toEqual({ apiVersion: 'v3', clientId: 'c' });
    expect(credentialsFrom({ clientId: 'c', username: 'u', password: 'p' })).toEqual({
      apiVersion: 'v4',
      clientId: 'c',
      username: 'u',
      password: 'p',
    });
    expect(() => credentialsFrom({ clientId: 'c', username: 'u' })).toThrow(OsmNotConfigured);
    expect(() => credentialsFrom({ clientId: 'c', username: 'u' })).toThrow(/both/);
    // The secret as a fresh deployment creates it: every field empty.
    expect(() => credentialsFrom({ clientId: '', username: '', password: '' })).toThrow(OsmNotConfigured);
    expect(() => credentialsFrom({})).toThrow(/client_id/);
  });

  it('reads the endpoint, timeout and credentials from the environment', async () => {
    process.env.OSM_REGION = 'oc';
    process.env.OSM_ENVIRONMENT = 'production';
    process.env.OSM_CLIENT_ID = 'client-1';
    const config = readClientConfig();
    expect(config.endpoint.baseUrl).toBe('https://api-oc.klarna.com');
    expect(config.timeoutMs).toBe(1500);
    await expect(config.credentials()).resolves.toEqual({ apiVersion: 'v3', clientId: 'client-1' });
  });

  it('keys the cache by OSM_CLIENT_ID without reading the credentials secret when both are set (the stack with osmClientId)', async () => {
    process.env.OSM_CLIENT_ID = ' client-1 ';
    process.env.OSM_CREDENTIALS_SECRET_ARN = 'arn:aws:secretsmanager:eu-north-1:123456789012:secret:Osm-AbCdEf';
    const config = readClientConfig();
    await expect(config.clientId()).resolves.toBe('client-1');
    // Nothing to start early: the secret is needed only when Klarna is asked.
    expect(config.prefetch).toBeUndefined();
  });

  it('keys the cache by the credentials’ own client id otherwise', async () => {
    process.env.OSM_CLIENT_ID = 'client-2';
    await expect(readClientConfig().clientId()).resolves.toBe('client-2');
    delete process.env.OSM_CLIENT_ID;
    await expect(readClientConfig().clientId()).rejects.toThrow(OsmNotConfigured);
    process.env.OSM_CREDENTIALS_SECRET_ARN = 'arn:aws:secretsmanager:eu-north-1:123456789012:secret:Osm-AbCdEf';
    expect(readClientConfig().prefetch).toBeInstanceOf(Function);
  });

  it('sends the client id "local" to an OSM_BASE_URL when none is configured (npm start against a fake)', async () => {
    process.env.OSM_BASE_URL = 'http://127.0.0.1:4010';
    await expect(readClientConfig().credentials()).resolves.toEqual({ apiVersion: 'v3', clientId: LOCAL_CLIENT_ID });
  });

  it('starts without credentials for Klarna but answers every request "not configured"; fails at cold start on a bad timeout', async () => {
    const config = readClientConfig();
    expect(config.endpoint.baseUrl).toBe('https://api.playground.klarna.com');
    await expect(config.credentials()).rejects.toThrow(OsmNotConfigured);
    await expect(config.credentials()).rejects.toThrow(/OSM_CLIENT_ID or OSM_CREDENTIALS_SECRET_ARN/);
    process.env.OSM_CLIENT_ID = 'c';
    process.env.OSM_USERNAME = 'u'; // without a password: half a v4 pair
    await expect(readClientConfig().credentials()).rejects.toThrow(OsmNotConfigured);
    delete process.env.OSM_USERNAME;
    process.env.OSM_TIMEOUT_MS = '5';
    expect(() => readClientConfig()).toThrow(/OSM_TIMEOUT_MS/);
  });

  it('names this project and its version in the User-Agent', () => {
    expect(USER_AGENT).toMatch(/^klarna-serverless\/\d+\.\d+\.\d+/);
  });
});

describe('OSM documentedContent', () => {
  it('keeps TEXT, ACTION and IMAGE with their documented fields and drops unknown or malformed nodes', () => {
    const { content, dropped } = documentedContent([
      { type: 'TEXT', name: 'TEXT_MAIN', value: 'Pay in 4.', style: { color: 'red' } },
      { type: 'ACTION', name: 'ACTION_LEARN_MORE', label: 'Learn more', url: 'https://k.example/', tracking: 1 },
      { type: 'IMAGE', name: 'KLARNA_BADGE', alt: 'Klarna', url: 'https://k.example/b.svg' },
      { type: 'VIDEO', url: 'https://k.example/v.mp4' },
      { type: 'TEXT' },
      'TEXT',
      null,
    ]);
    expect(content).toEqual({
      nodes: [
        { type: 'TEXT', name: 'TEXT_MAIN', value: 'Pay in 4.' },
        { type: 'ACTION', name: 'ACTION_LEARN_MORE', label: 'Learn more', url: 'https://k.example/' },
        { type: 'IMAGE', name: 'KLARNA_BADGE', alt: 'Klarna', url: 'https://k.example/b.svg' },
      ],
    });
    expect(dropped).toBe(4);
  });

  it('drops links and images whose URL is not https, so the JSON holds no more than the HTML shows', () => {
    const { content, dropped } = documentedContent([
      { type: 'ACTION', label: 'Learn more', url: 'http://k.example/' },
      { type: 'ACTION', label: 'Click', url: 'javascript:alert(1)' },
      { type: 'ACTION', label: 'Click', url: ' JAVASCRIPT:alert(1)' },
      { type: 'IMAGE', url: 'data:image/svg+xml,<svg/>' },
      { type: 'IMAGE', url: '//k.example/b.svg' },
      { type: 'IMAGE', alt: 'Klarna', url: 'HTTPS://K.example/b.svg' },
    ]);
    expect(content).toEqual({ nodes: [{ type: 'IMAGE', alt: 'Klarna', url: 'https://k.example/b.svg' }] });
    expect(dropped).toBe(5);
  });
});

describe('OSM impressionTarget', () => {
  const klarna = resolveEndpoint({ region: 'eu', environment: 'playground' });
  const local = resolveEndpoint({ baseUrl: 'http://127.0.0.1:4010/osm' });
  const target = (url: string | null, endpoint = klarna) => impressionTarget(url, endpoint)?.href;

  it('calls https hosts of Klarna’s domains, upgrading the http:// Klarna has handed out', () => {
    expect(target('https://evt-na.playground.klarnaservices.com/v1/osm-client-script/1.0.0/bb?d=x')).toBe(
      'https://evt-na.playground.klarnaservices.com/v1/osm-client-script/1.0.0/bb?d=x',
    );
    expect(target('http://evt-na.playground.klarnaservices.com/v1/bb?d=x')).toBe('https://evt-na.playground.klarnaservices.com/v1/bb?d=x');
    expect(target('https://eu.klarnaevt.com/i')).toBe('https://eu.klarnaevt.com/i');
    expect(target('https://klarna.com/i')).toBe('https://klarna.com/i');
  });

  it.each([
    ['another domain', 'https://evil.example/i'],
    ['a look-alike suffix', 'https://notklarna.com/i'],
    ['a Klarna name inside another domain', 'https://klarna.com.evil.example/i'],
    ['user info', 'https://user:pw@evt.klarnaservices.com/i'],
    ['another port', 'https://evt.klarnaservices.com:8443/i'],
    ['another scheme', 'ftp://evt.klarnaservices.com/i'],
    ['a script URL', 'javascript:alert(1)'],
    ['nothing', null],
    ['not a URL', 'evt.klarnaservices.com/i'],
  ])('refuses %s', (_name, url) => {
    expect(target(url)).toBeUndefined();
  });

  it('calls the origin of a configured OSM_BASE_URL as it is, and nothing else there', () => {
    expect(target('http://127.0.0.1:4010/impressions/a', local)).toBe('http://127.0.0.1:4010/impressions/a');
    expect(target('http://127.0.0.1:4011/impressions/a', local)).toBeUndefined();
    expect(target('http://127.0.0.1:4010/impressions/a')).toBeUndefined();
    expect(target('https://evt.klarnaservices.com/i', local)).toBe('https://evt.klarnaservices.com/i');
  });
});
