/**
 * The order side of the backend for an integration test, as `npm start` runs it: DynamoDB Local
 * with the given tables, the Order Management stand-in, the loopback EventBridge and SQS, the
 * environment the functions read, the default rules (empty), the local server, and one table's
 * stream fed to its publisher. `stop()` takes it all down and gives the environment back; a start
 * that fails half-way stops what it had started.
 */
import { createTables, startDynamoDb, type RunningDynamoDb } from '../../bin/local/dynamodb-local.js';
import { startFakeEventBridge, type FakeEventBridge } from '../../bin/local/fake-eventbridge.js';
import { startFakeOrderManagement, type FakeOrderManagement } from '../../bin/local/fake-order-management.js';
import { startFakeSqs, type FakeSqs } from '../../bin/local/fake-sqs.js';
import { startOrderStream, type OrderStream, type StreamHandler } from '../../bin/local/order-stream.js';
import { startLocalServer, type LocalServer } from '../../bin/local/server.js';
import { createDocumentClient, documentClient } from '../../functions/shared/dynamodb.js';
import { putRules } from '../../functions/shared/rules-store.js';
import { rulesTable, type TableDefinition } from '../../lib/tables.js';

export type LocalOrders = {
  readonly db: RunningDynamoDb;
  readonly fake: FakeOrderManagement;
  readonly bus: FakeEventBridge;
  readonly sqs: FakeSqs;
  readonly client: ReturnType<typeof createDocumentClient>;
  readonly server: LocalServer;
  readonly stream: OrderStream;
  stop(): Promise<void>;
};

export const startLocalOrders = async (options: {
  /** The tables and their (test-unique) names; each name goes to the table's environment variable. The rules table is required. */
  readonly tables: readonly (readonly [TableDefinition, string])[];
  /** KCO_CALLBACK_TOKENS. */
  readonly token: string;
  /** EVENT_BUS_NAME. */
  readonly busName: string;
  /** The queue REFUSED_EVENTS_QUEUE_URL names on the loopback SQS. */
  readonly refusedQueue: string;
  /** Who wrote the default rules (their history says so). */
  readonly rulesBy: string;
  /** The table whose stream is published, and its publisher (loaded once the environment is set, as Lambda would). */
  readonly stream: { readonly table: TableDefinition; readonly publisher: () => Promise<{ handler: (event: { Records: Parameters<StreamHandler>[0] }) => ReturnType<StreamHandler> }> };
}): Promise<LocalOrders> => {
  const savedEnv = { ...process.env };
  const running: { -readonly [K in keyof LocalOrders]?: LocalOrders[K] } = {};
  const stop = async (): Promise<void> => {
    await running.server?.close();
    await running.stream?.stop();
    await running.bus?.close();
    await running.sqs?.close();
    await running.fake?.close();
    running.client?.destroy();
    documentClient().destroy();
    await running.db?.stop();
    process.env = savedEnv;
  };
  const nameOf = (def: TableDefinition): string => {
    const name = new Map(options.tables).get(def);
    if (name === undefined) throw new Error(`no name for table ${def.id}`);
    return name;
  };
  try {
    const db = (running.db = await startDynamoDb());
    await createTables(db.endpoint, options.tables.map(([def]) => def), nameOf);
    running.fake = await startFakeOrderManagement();
    const bus = (running.bus = await startFakeEventBridge());
    const sqs = (running.sqs = await startFakeSqs());
    Object.assign(process.env, {
      SQS_ENDPOINT: sqs.url,
      REFUSED_EVENTS_QUEUE_URL: `${sqs.url}/000000000000/${options.refusedQueue}`,
      EVENTBRIDGE_ENDPOINT: bus.url,
      EVENT_BUS_NAME: options.busName,
      DYNAMODB_ENDPOINT: db.endpoint,
      ...Object.fromEntries(options.tables.map(([def, name]) => [def.envVar, name])),
      RULES_CACHE_SECONDS: '0',
      KCO_CALLBACK_TOKENS: options.token,
      KCO_API_BASE_URL: running.fake.url,
      KCO_API_USERNAME: 'K123_test',
      KCO_API_PASSWORD: 'test-password',
      KCO_API_TIMEOUT_MS: '1500',
      KCO_API_BACKOFF_MS: '10',
      // The order functions have seconds, not Klarna's 3 s callback budget; a busy test machine
      // must not turn a slow DynamoDB Local into a failed push.
      DYNAMODB_REQUEST_TIMEOUT_MS: '5000',
    });
    const client = (running.client = createDocumentClient(db.endpoint));
    const stored = await putRules(client, nameOf(rulesTable), 'default', {}, { updatedBy: options.rulesBy });
    if (!stored.ok) throw new Error('default rules refused');
    running.server = await startLocalServer({ port: 0 });
    const publisher = await options.stream.publisher();
    running.stream = await startOrderStream({ endpoint: db.endpoint, tableName: nameOf(options.stream.table), handle: (records) => publisher.handler({ Records: records }) });
    return { ...(running as Omit<LocalOrders, 'stop'>), stop };
  } catch (error) {
    await stop();
    throw error;
  }
};
