/**
 * The rules adapter against a real DynamoDB (DynamoDB Local, or DYNAMODB_ENDPOINT when set).
 */
import { randomUUID } from 'node:crypto';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { logger } from '../../functions/shared/log.js';
import { DynamoDbRulesSource, deleteRules, getRules, listScopes, putRules } from '../../functions/shared/rules-store.js';
import { rulesTable } from '../../lib/tables.js';
import { createTables, freePort, startDynamoDb, type RunningDynamoDb } from '../../bin/local/dynamodb-local.js';

jest.setTimeout(20_000);

const table = `rules-store-it-${randomUUID().slice(0, 8)}`;
let dynamoDb: RunningDynamoDb;
let client: DynamoDBDocumentClient;
/** Requests the client sent (each attempt), by command name: one entry per round trip. */
const commands: string[] = [];

beforeAll(async () => {
  dynamoDb = await startDynamoDb();
  await createTables(dynamoDb.endpoint, [rulesTable], () => table);
  client = countingRoundTrips(createDocumentClient(dynamoDb.endpoint));
});

/** Record every request `documentClient` sends in `commands`. */
function countingRoundTrips(documentClient: DynamoDBDocumentClient): DynamoDBDocumentClient {
  documentClient.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(String(context.commandName));
      return next(args);
    },
    // Inside the retry middleware: every HTTP attempt counts.
    { step: 'finalizeRequest', priority: 'low', name: 'countRoundTrips' },
  );
  return documentClient;
}

afterAll(async () => {
  client?.destroy();
  await dynamoDb?.stop();
});

beforeEach(() => {
  commands.length = 0;
  jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  jest.spyOn(logger, 'error').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

const source = (cacheSeconds = 0) => new DynamoDbRulesSource(client, table, { cacheSeconds, staleSeconds: 60, now: Date.now });

describe('DynamoDbRulesSource on DynamoDB', () => {
  it('reads default and order scope in one BatchGetItem and merges them, the order winning', async () => {
    await putRules(client, table, 'default', { shipping_countries: ['SE', 'DE'], min_order_amount: 100, max_quantity_per_line: 10 });
    await putRules(client, table, 'order#merge-1', { min_order_amount: 2500, expected_order_amount: 99900 });
    commands.length = 0;

    const lookup = await source().rulesFor('merge-1');

    expect(commands).toEqual(['BatchGetItemCommand']);
    expect(lookup).toEqual({
      status: 'ok',
      rules: { shipping_countries: ['SE', 'DE'], min_order_amount: 2500, max_quantity_per_line: 10, expected_order_amount: 99900 },
      scopesFound: ['default', 'order#merge-1'],
    });
  });

  it('caches: a second lookup within cacheSeconds makes no round trip', async () => {
    const cached = source(60);
    const first = await cached.rulesFor('merge-1');
    const second = await cached.rulesFor('merge-1');
    expect(second).toEqual(first);
    expect(commands).toEqual(['BatchGetItemCommand']);
  });

  it('accepts a hand-edited item whose list is a DynamoDB String Set', async () => {
    await client.send(
      new PutCommand({
        TableName: table,
        Item: { scope: 'order#hand-1', shipping_countries: new Set(['SE', 'DE']), updated_by: 'console' },
      }),
    );
    const lookup = await source().rulesFor('hand-1');
    expect(lookup.status).toBe('ok');
    const rules = lookup.status === 'ok' ? lookup.rules : {};
    expect([...(rules.shipping_countries ?? [])].sort()).toEqual(['DE', 'SE']);
    expect(lookup).toMatchObject({ scopesFound: ['default', 'order#hand-1'] });
  });

  it('reports an invalid hand-edited document with its scope and field', async () => {
    await client.send(new PutCommand({ TableName: table, Item: { scope: 'order#bad-1', min_order_amount: '100', block_po_boxes: 'yes' } }));
    const lookup = await source().rulesFor('bad-1');
    expect(lookup).toEqual({
      status: 'invalid',
      issues: expect.arrayContaining([
        { scope: 'order#bad-1', path: 'min_order_amount', message: 'expected number' },
        { scope: 'order#bad-1', path: 'block_po_boxes', message: 'expected boolean' },
      ]),
    });
    expect(logger.warn).toHaveBeenCalledWith('rules document invalid', { scope: 'order#bad-1', path: 'min_order_amount', problem: 'expected number' });
  });

  it('answers unavailable when DynamoDB cannot be reached, after DYNAMODB_MAX_ATTEMPTS (2) tries and no more', async () => {
    const closed = countingRoundTrips(createDocumentClient(`http://127.0.0.1:${await freePort()}`));
    try {
      const lookup = await new DynamoDbRulesSource(closed, table, { cacheSeconds: 5, staleSeconds: 60, now: Date.now }).rulesFor('merge-1');
      expect(lookup).toEqual({ status: 'unavailable' });
      // One BatchGetItem, retried once by the SDK: the work is bounded by attempts, not by luck.
      expect(commands).toEqual(['BatchGetItemCommand', 'BatchGetItemCommand']);
      expect(logger.error).toHaveBeenCalledWith('rules unavailable', expect.objectContaining({ scope: 'default', reason: 'dynamodb_error' }));
    } finally {
      closed.destroy();
    }
  });
});

describe('the rules tool helpers on DynamoDB', () => {
  it('put writes updated_at, get reads the document back without bookkeeping, list and delete see it', async () => {
    const now = () => new Date('2026-03-01T12:34:56.789Z');
    const written = await putRules(client, table, 'order#crud-1', { denied_references: ['RECALLED-123'] }, { updatedBy: 'test', now });
    expect(written).toEqual({ ok: true, rules: { denied_references: ['RECALLED-123'] } });

    const stored = await getRules(client, table, 'order#crud-1');
    expect(stored).toMatchObject({
      scope: 'order#crud-1',
      document: { denied_references: ['RECALLED-123'] },
      parsed: { ok: true },
      updatedBy: 'test',
      updatedAt: '2026-03-01T12:34:56.789Z',
    });

    const scopes = (await listScopes(client, table)).map((s) => s.scope);
    expect(scopes[0]).toBe('default');
    expect(scopes).toContain('order#crud-1');

    expect(await deleteRules(client, table, 'order#crud-1')).toBe(true);
    expect(await deleteRules(client, table, 'order#crud-1')).toBe(false);
    expect(await getRules(client, table, 'order#crud-1')).toBeUndefined();
  });
});
