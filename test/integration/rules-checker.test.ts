/**
 * Rules checked on write, end to end against DynamoDB Local and its real stream: writes made the
 * way a merchant makes them (the console's DynamoDB JSON with a wrong type, an SDK put with an
 * unknown field, a delete of `default`) are read from the rules table's stream by the checker the
 * stack deploys, published as events on the EventBridge stand-in, counted, kept in the history;
 * the callbacks' lookup keeps failing closed meanwhile; the rules tool's rollback puts the last
 * valid version back as a new version.
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteItemCommand, DeleteItemCommand, DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createTables, startDynamoDb, type RunningDynamoDb } from '../../bin/local/dynamodb-local.js';
import { startFakeEventBridge, type BusEvent, type FakeEventBridge } from '../../bin/local/fake-eventbridge.js';
import { startTableStream, type TableStream } from '../../bin/local/order-stream.js';
import { runRulesCli } from '../../bin/local/rules-cli.js';
import type { DynamoDBRecord } from 'aws-lambda';
import { rulesHistoryTable, rulesTable } from '../../lib/tables.js';
import type { CheckerDeps } from '../../functions/rules/handlers/check-rules.js';
import { createDocumentClient, createDynamoDbClient } from '../../functions/shared/dynamodb.js';
import { DynamoDbRulesSource, putRules } from '../../functions/shared/rules-store.js';
import exampleRules from '../../bin/local/example-rules.json';

jest.setTimeout(60_000);

const suffix = randomUUID().slice(0, 8);
const RULES = `checker-rules-${suffix}`;
const HISTORY = `checker-history-${suffix}`;
const BUS = 'checker-test-bus';
const SHOPPER_TEXT = 'Vi levererar tyvärr inte till paketautomater; välj en gatuadress så skickar vi med ett leende';

let checker: typeof import('../../functions/rules/handlers/check-rules.js');
const checkRecords = (...args: Parameters<typeof checker.checkRecords>) => checker.checkRecords(...args);
const originalDynamoSend = DynamoDBClient.prototype.send;
const originalEventsSend = EventBridgeClient.prototype.send;

let db: RunningDynamoDb;
let bus: FakeEventBridge;
let stream: TableStream;
let client: ReturnType<typeof createDocumentClient>;
let plain: DynamoDBClient;
const savedEnv = { ...process.env };
/** The EMF metric lines the checker wrote to stdout. */
const metricLines: Record<string, unknown>[] = [];
/** Per batch the checker was handed: its size and the AWS calls it made, by command. */
const batches: { records: number; calls: string[] }[] = [];

beforeAll(async () => {
  db = await startDynamoDb();
  await createTables(db.endpoint, [rulesTable, rulesHistoryTable], (def) => (def === rulesTable ? RULES : HISTORY));
  bus = await startFakeEventBridge();
  Object.assign(process.env, {
    EVENTBRIDGE_ENDPOINT: bus.url,
    EVENT_BUS_NAME: BUS,
    DYNAMODB_ENDPOINT: db.endpoint,
    RULES_TABLE: RULES,
    RULES_HISTORY_TABLE: HISTORY,
    RULES_HISTORY_DAYS: '30',
    DYNAMODB_REQUEST_TIMEOUT_MS: '5000',
    // The checker's module counts; this file reads the counts (test/support/setup.ts turns them off).
    POWERTOOLS_METRICS_DISABLED: 'false',
  });
  client = createDocumentClient(db.endpoint);
  plain = createDynamoDbClient(db.endpoint);
  // Loaded once metrics are on (the module creates its metrics logger on load).
  checker = await import('../../functions/rules/handlers/check-rules.js');
  stream = await startTableStream({
    endpoint: db.endpoint,
    tableName: RULES,
    label: 'the rules stream',
    handle: async (records) => {
      const batch = { records: records.length, calls: [] as string[] };
      batches.push(batch);
      const count = (command: unknown): void => void batch.calls.push((command as { constructor: { name: string } }).constructor.name);
      const dynamo = jest.spyOn(DynamoDBClient.prototype, 'send').mockImplementation(function (this: DynamoDBClient, ...args: Parameters<DynamoDBClient['send']>) {
        count(args[0]);
        return originalDynamoSend.apply(this, args);
      } as DynamoDBClient['send']);
      const events = jest.spyOn(EventBridgeClient.prototype, 'send').mockImplementation(function (this: EventBridgeClient, ...args: Parameters<EventBridgeClient['send']>) {
        count(args[0]);
        return originalEventsSend.apply(this, args);
      } as EventBridgeClient['send']);
      const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        for (const line of text.split('\n')) if (line.includes('"_aws"')) metricLines.push(JSON.parse(line) as Record<string, unknown>);
        return true;
      });
      try {
        return await checker.handler({ Records: records });
      } finally {
        write.mockRestore();
        dynamo.mockRestore();
        events.mockRestore();
      }
    },
  });
});

afterAll(async () => {
  await stream?.stop();
  await bus?.close();
  client?.destroy();
  plain?.destroy();
  await db?.stop();
  process.env = savedEnv;
});

/** Events published since the last call, once the stream has been read to its end. */
let seen = 0;
const newEvents = async (): Promise<BusEvent[]> => {
  await stream.drain();
  const events = bus.events.slice(seen);
  seen = bus.events.length;
  return events;
};
/** RulesRejected counts since the last call, by scope kind. */
let counted = 0;
const newRejectionCounts = (): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const line of metricLines.slice(counted)) {
    if (typeof line.RulesRejected === 'number') counts[String(line.scope_kind)] = (counts[String(line.scope_kind)] ?? 0) + line.RulesRejected;
  }
  counted = metricLines.length;
  return counts;
};

const tool = async (...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  let stdout = '';
  let stderr = '';
  const code = await runRulesCli(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { DYNAMODB_ENDPOINT: db.endpoint, RULES_TABLE: RULES, RULES_HISTORY_TABLE: HISTORY, USER: 'test' },
    cwd: process.cwd(),
  });
  return { code, stdout, stderr };
};

/** The callbacks' own lookup, uncached: what the next callback would meet. */
const lookup = () => new DynamoDbRulesSource(client, RULES, { cacheSeconds: 0, staleSeconds: 0, now: Date.now }).rulesFor(`lookup-${randomUUID()}`);

const historyItems = async (scope: string): Promise<Record<string, unknown>[]> =>
  ((await plain.send(new QueryCommand({ TableName: HISTORY, KeyConditionExpression: '#s = :s', ExpressionAttributeNames: { '#s': 'scope' }, ExpressionAttributeValues: { ':s': { S: scope } }, ConsistentRead: true })))
    .Items ?? []) as Record<string, unknown>[];

const withTexts = { ...exampleRules, error_texts: { parcel_locker: SHOPPER_TEXT } };

describe('the default scope', () => {
  it('a write through the rules tool is accepted: Rules Changed, version 1, its fields, and nothing counted', async () => {
    expect((await putRules(client, RULES, 'default', withTexts, { updatedBy: 'test' })).ok).toBe(true);
    const events = await newEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      source: 'klarna-serverless',
      detailType: 'Rules Changed',
      eventBusName: BUS,
      detail: { schema_version: 1, scope: 'default', scope_kind: 'default', version: 1, previous_version: null, change: 'created' },
    });
    expect(events[0]?.detail.changed_fields).toEqual(Object.keys(withTexts).sort());
    expect(newRejectionCounts()).toEqual({ default: 0 });
    // A scope's first version writes no history: a flood of new order scopes costs no writes.
    expect(await historyItems('default')).toEqual([]);
    expect((await lookup()).status).toBe('ok');
  });

  it('a console edit in DynamoDB JSON with a wrong type is rejected at once: the event names the path, never the texts; counted; callbacks fail closed; rollback restores it as version 3', async () => {
    // As the console's JSON view saves it: every attribute typed, min_order_amount as a string.
    await plain.send(
      new PutItemCommand({
        TableName: RULES,
        Item: {
          scope: { S: 'default' },
          min_order_amount: { S: '100' },
          block_po_boxes: { BOOL: true },
          shipping_countries: { SS: ['SE', 'DE'] },
          error_texts: { M: { parcel_locker: { S: SHOPPER_TEXT } } },
        },
      }),
    );
    const [rejected, ...others] = await newEvents();
    expect(others).toEqual([]);
    expect(rejected).toMatchObject({
      detailType: 'Rules Rejected',
      detail: {
        scope: 'default',
        scope_kind: 'default',
        version: 2,
        previous_version: 1,
        problem: 'invalid',
        issues: [{ path: 'min_order_amount', message: 'expected number' }],
        issue_count: 1,
      },
    });
    expect(JSON.stringify(rejected)).not.toContain('paketautomater');
    expect(newRejectionCounts()).toEqual({ default: 1 });
    expect(await lookup()).toEqual({ status: 'invalid', issues: [{ scope: 'default', path: 'min_order_amount', message: 'expected number' }] });

    const history = await tool('history', 'default');
    expect(history.code).toBe(0);
    expect(history.stdout.split('\n').slice(1, 3).map((line) => line.split('\t').slice(0, 2))).toEqual([
      ['2 (current)', 'INVALID (1 problem(s): callbacks fail closed)'],
      ['1', 'valid'],
    ]);
    const diff = await tool('diff', 'default');
    expect(diff.stdout).toContain('--- default version 1 (replaced ');
    expect(diff.stdout).toContain('+++ default version 2 (current)');
    expect(diff.stdout).toContain('~ min_order_amount: 100 → "100"');
    expect(diff.stdout).toContain('- tax: ');
    expect(diff.stdout).toContain('  min_order_amount: expected number');

    const rollback = await tool('rollback', 'default');
    expect(rollback).toMatchObject({ code: 0, stdout: 'Restored version 1 of default as a new version (it replaces version 2; the history keeps both).\n' });
    const [changed] = await newEvents();
    expect(changed).toMatchObject({ detailType: 'Rules Changed', detail: { scope: 'default', version: 3, previous_version: 2, change: 'updated' } });
    expect(changed?.detail.changed_fields).toEqual(expect.arrayContaining(['min_order_amount', 'tax', 'shipping_options']));
    expect(newRejectionCounts()).toEqual({ default: 0 });
    expect((await lookup()).status).toBe('ok');
    // Nothing rewritten: versions 1 and 2 are kept as they were, 2 with its wrong type.
    const items = await historyItems('default');
    expect(items.map((item) => (item.version as { N: string }).N)).toEqual(['0', '1', '2']);
    expect((items[2]?.image as { M: Record<string, unknown> }).M.min_order_amount).toEqual({ S: '100' });
    expect(items[2]).toMatchObject({ replaced_by_version: { N: '3' } });
    expect(Number((items[1]?.expires_at as { N: string }).N) - Date.now() / 1000).toBeGreaterThan(29 * 86_400);
    expect(items[0]).toMatchObject({ latest_version: { N: '3' }, present: { BOOL: true } });
  });

  it('a document with an unknown field is rejected with the field named; diff and rollback --to put the chosen version back', async () => {
    await client.send(new PutCommand({ TableName: RULES, Item: { ...exampleRules, scope: 'default', colour: 'red' } }));
    const [rejected] = await newEvents();
    expect(rejected).toMatchObject({
      detailType: 'Rules Rejected',
      detail: { scope: 'default', version: 4, problem: 'invalid', issues: [{ path: '(document)', message: 'unknown field(s): colour' }] },
    });
    expect(newRejectionCounts()).toEqual({ default: 1 });
    expect((await lookup()).status).toBe('invalid');

    const diff = await tool('diff', 'default', '3');
    expect(diff.stdout).toContain('+ colour: "red"');
    expect((await tool('rollback', 'default', '--to', '4')).stderr).toBe(
      `Using DynamoDB at ${db.endpoint} (DYNAMODB_ENDPOINT), table ${RULES}\nVersion 4 is the current version of default.\n`,
    );
    const refused = await tool('rollback', 'default', '--to', '2');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Version 2 of default does not validate; not restored.\ndefault: min_order_amount: expected number\n');
    expect(await newEvents()).toEqual([]);

    expect((await tool('rollback', 'default', '--to=3')).code).toBe(0);
    const [changed] = await newEvents();
    expect(changed).toMatchObject({ detailType: 'Rules Changed', detail: { version: 5, previous_version: 4, change: 'updated', changed_fields: ['colour', 'error_texts'] } });
    expect((await lookup()).status).toBe('ok');
  });

  it('a delete of default is an event and counted for the alarm (no rules: no approvals); rollback brings it back', async () => {
    await plain.send(new DeleteItemCommand({ TableName: RULES, Key: { scope: { S: 'default' } } }));
    const [deleted] = await newEvents();
    expect(deleted).toMatchObject({
      detailType: 'Rules Rejected',
      detail: {
        scope: 'default',
        version: 6,
        previous_version: 5,
        problem: 'default_deleted',
        issues: [{ path: '(scope)', message: 'the default scope was deleted: every callback fails closed (rules_missing) until it is restored' }],
      },
    });
    expect(newRejectionCounts()).toEqual({ default: 1 });
    expect(await lookup()).toEqual({ status: 'missing' });
    expect((await tool('history', 'default')).stdout.split('\n')[1]).toBe('6 (current)\tdeleted\t-\t-\t-');

    const rollback = await tool('rollback', 'default');
    expect(rollback.stdout).toBe('Restored version 5 of default as a new version (it replaces version 6; the history keeps both).\n');
    const [restored] = await newEvents();
    expect(restored).toMatchObject({ detailType: 'Rules Changed', detail: { version: 7, previous_version: 6, change: 'created' } });
    expect(newRejectionCounts()).toEqual({ default: 0 });
    expect((await lookup()).status).toBe('ok');
    const lines = (await tool('history', 'default')).stdout.split('\n').slice(1, -1).map((line) => line.split('\t').slice(0, 2).join(' '));
    expect(lines).toEqual(['7 (current) valid', '6 deleted', '5 valid', '4 INVALID (1 problem(s): callbacks fail closed)', '3 valid', '2 INVALID (1 problem(s): callbacks fail closed)', '1 valid']);
  });
});

describe('order scopes written in bulk', () => {
  it('checks each one (an invalid one is rejected and counted as an order scope) and writes no history for first versions', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `bulk-${suffix}-${i}`);
    for (let start = 0; start < ids.length; start += 25) {
      await plain.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [RULES]: ids.slice(start, start + 25).map((id, i) => ({
              PutRequest: {
                Item: { scope: { S: `order#${id}` }, expected_order_amount: start + i === 42 ? { N: '-1' } : { N: String(1000 + start + i) } },
              },
            })),
          },
        }),
      );
    }
    const batchesBefore = batches.length;
    const events = await newEvents();
    expect(events).toHaveLength(60);
    // What the flood cost: per batch the stream handed over, one BatchGetItem of the heads and one
    // PutEvents per ten records; no history write (first versions).
    const flood = batches.slice(batchesBefore).filter((b) => b.records > 0);
    expect(flood.reduce((sum, b) => sum + b.records, 0)).toBe(60);
    for (const batch of flood) {
      expect([...batch.calls].sort()).toEqual(
        ['BatchGetItemCommand', ...Array<string>(Math.ceil(batch.records / 10)).fill('PutEventsCommand')].sort(),
      );
    }
    expect(events.filter((e) => e.detailType === 'Rules Changed')).toHaveLength(59);
    expect(events.filter((e) => e.detailType === 'Rules Rejected').map((e) => [e.detail.scope, e.detail.issues])).toEqual([
      [`order#${ids[42]}`, [{ path: 'expected_order_amount', message: 'must be at least 0' }]],
    ]);
    expect(newRejectionCounts()).toEqual({ order: 1 });
    expect(await historyItems(`order#${ids[0]}`)).toEqual([]);
  });

  it('an item under a key no callback reads is rejected as "other"', async () => {
    await client.send(new PutCommand({ TableName: RULES, Item: { scope: 'Default', block_po_boxes: true } }));
    const [rejected] = await newEvents();
    expect(rejected).toMatchObject({ detailType: 'Rules Rejected', detail: { scope: 'Default', scope_kind: 'other', problem: 'invalid', issues: [{ path: '(scope)' }] } });
    expect(newRejectionCounts()).toEqual({ other: 1 });
  });
});

describe('failures', () => {
  it('a record whose event EventBridge refuses is retried from that record: each version once in the history, its event again with the same version', async () => {
    const scope = `order#retry-${suffix}`;
    expect((await putRules(client, RULES, scope, { expected_order_amount: 1 })).ok).toBe(true);
    await newEvents();
    bus.failNextEntries(1);
    expect((await putRules(client, RULES, scope, { expected_order_amount: 2 })).ok).toBe(true);
    const events = await newEvents();
    expect(bus.refusals).toBeGreaterThanOrEqual(1);
    expect(events.map((e) => [e.detailType, e.detail.scope, e.detail.version])).toEqual([['Rules Changed', scope, 2]]);
    const items = await historyItems(scope);
    expect(items.map((item) => (item.version as { N: string }).N)).toEqual(['0', '1']);
    expect(items[0]).toMatchObject({ latest_version: { N: '2' } });
  });
});

describe('the checker when DynamoDB or EventBridge fails (Lambda-shaped records, straight into checkRecords)', () => {
  const scope = `order#fail-${suffix}`;
  const record = (sequence: string, amount: number): DynamoDBRecord => ({
    eventName: 'MODIFY',
    eventSourceARN: 'arn:aws:dynamodb:eu-north-1:123456789012:table/rules/stream/2026-12-07T00:00:00.000',
    dynamodb: {
      Keys: { scope: { S: scope } },
      SequenceNumber: sequence,
      ApproximateCreationDateTime: 1_765_130_000,
      OldImage: { scope: { S: scope }, expected_order_amount: { N: String(amount - 1) } },
      NewImage: { scope: { S: scope }, expected_order_amount: { N: String(amount) } },
    },
  });
  const deps = (overrides: Partial<CheckerDeps>): CheckerDeps => ({
    history: plain,
    historyTable: HISTORY,
    bus: { put: async () => ({ failed: 0 }) },
    busName: BUS,
    retentionDays: 1,
    now: () => new Date(),
    ...overrides,
  });

  it('the history unreadable: the batch fails at its first record and nothing is published', async () => {
    let puts = 0;
    const result = await checkRecords([record('100', 5), record('101', 6)], deps({ historyTable: `missing-${suffix}`, bus: { put: async () => ((puts += 1), { failed: 0 }) } }));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '100' }] });
    expect(puts).toBe(0);
  });

  it('EventBridge down: the batch fails at its first record and no history is written, so the retry numbers the same versions', async () => {
    const down = await checkRecords([record('200', 5), record('201', 6)], deps({ bus: { put: () => Promise.reject(new Error('connect ECONNREFUSED')) } }));
    expect(down).toEqual({ batchItemFailures: [{ itemIdentifier: '200' }] });
    expect(await historyItems(scope)).toEqual([]);
    const published: unknown[] = [];
    const retried = await checkRecords(
      [record('200', 5), record('201', 6)],
      deps({ bus: { put: async (entries) => (published.push(...entries.map((e) => (JSON.parse(e.Detail ?? '{}') as { version: number }).version)), { failed: 0 }) } }),
    );
    expect(retried).toEqual({ batchItemFailures: [] });
    expect(published).toEqual([2, 3]);
    expect((await historyItems(scope)).map((item) => (item.version as { N: string }).N)).toEqual(['0', '1', '2']);
    // The same batch once more (Lambda may hand it over again): recorded already, nothing published twice.
    published.length = 0;
    expect(await checkRecords([record('200', 5), record('201', 6)], deps({ bus: { put: async (entries) => (published.push(...entries.map((e) => e.DetailType ?? '')), { failed: 0 }) } }))).toEqual({ batchItemFailures: [] });
    expect(published).toEqual([]);
  });
});

describe('the rules tool', () => {
  it('refuses a VERSION that is no version number, --to outside rollback, and a version the history does not have', async () => {
    expect(await tool('diff', 'default', 'latest')).toMatchObject({ code: 2, stderr: expect.stringContaining('a VERSION is a number from 1, as history lists them; got "latest"') });
    expect(await tool('history', 'default', '--to', '2')).toMatchObject({ code: 2, stderr: expect.stringContaining('--to is for rollback') });
    expect(await tool('rollback', 'default', '--to')).toMatchObject({ code: 2, stderr: expect.stringContaining('--to needs a value') });
    const missing = await tool('rollback', 'default', '--to', '999');
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.stderr).toContain('Version 999 of default is not in the history (it may have expired).');
    expect((await tool('history', 'order#never-written')).stderr).toContain('No rules stored for order#never-written and no history.');
  });
});
