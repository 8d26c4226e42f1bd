/**
 * `npm start` as a function: DynamoDB Local, tables, seeded example rules, the local API.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { getRules } from '../../functions/shared/rules-store.js';
import { DEFAULT_CALLBACK_TOKEN, readLocalState, startLocal, type LocalService } from '../../bin/local/start.js';
import { freePort } from '../../bin/local/dynamodb-local.js';
import exampleRules from '../../bin/local/example-rules.json';
import exampleOrderRules from '../../bin/local/example-order-rules.json';

// startLocal starts DynamoDB Local, three loopback stand-ins and the orders stream: on a busy
// two-core machine that alone can take most of 20 s.
jest.setTimeout(60_000);

let service: LocalService;
let dir: string;
let stateFile: string;
const prefix = `local-start-${randomUUID().slice(0, 8)}`;
const envBefore = { ...process.env };

beforeAll(async () => {
  delete process.env.KCO_CALLBACK_TOKENS;
  delete process.env.RULES_CACHE_SECONDS;
  dir = await mkdtemp(join(tmpdir(), 'local-start-'));
  stateFile = join(dir, '.local', 'dynamodb.json');
  service = await startLocal({ port: 0, dynamoDbPort: process.env.DYNAMODB_ENDPOINT ? undefined : await freePort(), stateFile, tablePrefix: prefix });
});

afterAll(async () => {
  await service?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  process.env = envBefore;
});

describe('startLocal', () => {
  it('serves on loopback and configures the handlers through the environment', () => {
    expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(service.tableNames).toEqual({
      RULES_TABLE: `${prefix}-rules`,
      PLACEMENTS_TABLE: `${prefix}-placements`,
      ORDERS_TABLE: `${prefix}-orders`,
      RULES_HISTORY_TABLE: `${prefix}-rules-history`,
      ORDER_LEDGER_TABLE: `${prefix}-order-ledger`,
    });
    // No Order Management API configured here: the stand-in serves it, and events go to the local bus.
    expect(process.env.KCO_API_BASE_URL).toBe(service.orderManagementStandIn);
    expect(process.env.EVENT_BUS_NAME).toBe(`${prefix}-orders-bus`);
    expect(service.token).toBe(DEFAULT_CALLBACK_TOKEN);
    expect(service.tokenFromDefault).toBe(true);
    expect(process.env.DYNAMODB_ENDPOINT).toBe(service.endpoint);
    expect(process.env.RULES_TABLE).toBe(`${prefix}-rules`);
    expect(process.env.KCO_CALLBACK_TOKENS).toBe('local-dev-token');
    expect(process.env.RULES_CACHE_SECONDS).toBe('0');
  });

  it('seeds the example rules, readable from its DynamoDB', async () => {
    const client = createDocumentClient(service.endpoint);
    try {
      const stored = await getRules(client, `${prefix}-rules`, 'default');
      expect(stored?.document).toEqual(exampleRules);
      expect(stored?.parsed.ok).toBe(true);
      expect((await getRules(client, `${prefix}-rules`, 'order#example-order-1'))?.document).toEqual(exampleOrderRules);
    } finally {
      client.destroy();
    }
    expect(service.seeded.map((s) => s.scope)).toEqual(['default', 'order#example-order-1']);
  });

  it('leaves a state file for the rules tool naming its DynamoDB, table and pid', async () => {
    expect(await readLocalState(stateFile)).toEqual({
      endpoint: service.endpoint,
      rulesTable: `${prefix}-rules`,
      rulesHistoryTable: `${prefix}-rules-history`,
      pid: process.pid,
      url: service.url,
    });
  });

  it('answers 401 with a JSON error to a callback without a token', async () => {
    const response = await fetch(`${service.url}/kco/orders/x/validation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error?: unknown };
    expect(typeof body.error).toBe('string');
  });

  it('stop closes the server, removes the state file and restores the environment', async () => {
    const url = service.url;
    await service.stop();
    await expect(readFile(stateFile, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fetch(`${url}/kco/orders/x/validation`, { method: 'POST' })).rejects.toThrow();
    expect(process.env.KCO_CALLBACK_TOKENS).toBeUndefined();
    expect(process.env.RULES_TABLE).toBe(envBefore.RULES_TABLE);
  });
});
