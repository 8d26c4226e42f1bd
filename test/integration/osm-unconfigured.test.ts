/**
 * An OSM function pointed at Klarna without any credentials (a fresh deployment before the
 * merchant filled in the secret), served by the local server: it starts, answers both routes 503
 * `{"error": "On-site messaging is not configured"}` (not a 500 or a failed cold start), and
 * calls neither Klarna nor DynamoDB (the DynamoDB endpoint here is a closed loopback port: any
 * call would fail the request).
 */
import { startLocalServer, type LocalServer } from '../../bin/local/server.js';

let server: LocalServer;
const savedEnv = { ...process.env };

beforeAll(async () => {
  for (const name of ['OSM_BASE_URL', 'OSM_CLIENT_ID', 'OSM_USERNAME', 'OSM_PASSWORD', 'OSM_CREDENTIALS_SECRET_ARN']) delete process.env[name];
  Object.assign(process.env, { OSM_REGION: 'eu', OSM_ENVIRONMENT: 'playground', PLACEMENTS_TABLE: 'osm-unconfigured', DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' });
  server = await startLocalServer({ port: 0 });
});

afterAll(async () => {
  await server?.close();
  process.env = savedEnv;
});

it.each([
  ['GET JSON', '/osm/placements/credit-promotion-badge?locale=en-US&purchase_amount=12900', undefined],
  ['GET HTML', '/osm/placements/credit-promotion-badge.html?locale=en-US&purchase_amount=12900', undefined],
  [
    'POST an impression',
    '/osm/impressions',
    JSON.stringify({ impression_token: 'A'.repeat(22), placement_key: 'credit-promotion-badge', locale: 'en-US', purchase_amount: 12900 }),
  ],
])('%s: 503 "On-site messaging is not configured"', async (_name, path, body) => {
  const response = await fetch(`${server.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36' },
    ...(body === undefined ? {} : { body }),
  });
  expect(response.status).toBe(503);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(await response.json()).toEqual({ error: 'On-site messaging is not configured' });
});

it('still answers 400 for bad input first, before looking for credentials', async () => {
  const response = await fetch(`${server.url}/osm/placements/Bad?locale=en-US`);
  expect(response.status).toBe(400);
});
