/**
 * `npm start` as a function: DynamoDB Local (or DYNAMODB_ENDPOINT), the tables from lib/tables.ts,
 * the example rules, and the local API serving lib/routes.ts with the very handlers the Lambdas
 * run, plus the checkout playground at `/` (bin/local/playground; never deployed). bin/local.ts
 * prints and handles signals; tests call `startLocal` directly.
 *
 * While it runs, a small state file (`.local/dynamodb.json`) tells the rules tool where the local
 * DynamoDB and rules table are.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { orderLedgerTable, ordersTable, rulesHistoryTable, rulesTable, tables, type TableDefinition } from '../../lib/tables.js';
import { commandDetailTypes } from '../../functions/orders/commands/command.js';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { putRules } from '../../functions/shared/rules-store.js';
import { defaultScope, orderScope, type RulesIssue } from '../../functions/kco/rules.js';
import { checkJava, createTables, startDynamoDb, type RunningDynamoDb } from './dynamodb-local.js';
import { lambdaContext, startLocalServer, type LocalServer } from './server.js';
import { runInvocation } from './invocation.js';
import { startFakeOsm } from './fake-osm.js';
import { createPlayground } from './playground/serve.js';
import { exampleOmOrder, startFakeOrderManagement } from './fake-order-management.js';
import { startFakeEventBridge, type BusEvent } from './fake-eventbridge.js';
import { startFakeSqs } from './fake-sqs.js';
import { startOrderStream, startTableStream } from './order-stream.js';
import exampleRules from './example-rules.json';
import exampleOrderRules from './example-order-rules.json';

export const DEFAULT_CALLBACK_TOKEN = 'local-dev-token';
export const EXAMPLE_ORDER_ID = 'example-order-1';
export const DEFAULT_TABLE_PREFIX = 'klarna-local';

/** `klarna-local-rules`, `klarna-local-placements`: the construct id without `Table`, kebab-cased. */
export const localTableName = (definition: TableDefinition, prefix = DEFAULT_TABLE_PREFIX): string =>
  `${prefix}-${definition.id
    .replace(/Table$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()}`;

/** Where `npm start` leaves its state, relative to the project root (npm runs scripts there). */
export const localStatePath = (projectRoot: string): string => resolve(projectRoot, '.local', 'dynamodb.json');

export type LocalState = { endpoint: string; rulesTable: string; pid: number; url?: string; rulesHistoryTable?: string };

export const writeLocalState = async (file: string, state: LocalState): Promise<void> => {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`, 'utf8');
};

/** The state file's contents when it is there and well-formed, else undefined. */
export const readLocalState = async (file: string): Promise<LocalState | undefined> => {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { endpoint, rulesTable: table, pid, url, rulesHistoryTable: history } = parsed as Record<string, unknown>;
    if (typeof endpoint !== 'string' || typeof table !== 'string' || typeof pid !== 'number') return undefined;
    return { endpoint, rulesTable: table, pid, ...(typeof url === 'string' ? { url } : {}), ...(typeof history === 'string' ? { rulesHistoryTable: history } : {}) };
  } catch {
    return undefined;
  }
};

/** Is a process with this id running? (EPERM: it runs, as someone else.) */
export const isProcessAlive = (pid: number): boolean => {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class LocalStartError extends Error {
  override name = 'LocalStartError';
}

export type StartLocalOptions = {
  /** HTTP port of the local API; 0 for a free one. */
  port: number;
  /** DynamoDB Local's port; a free one when absent. Ignored when DYNAMODB_ENDPOINT is set. */
  dynamoDbPort?: number;
  /** Write the rules tool's state file here (bin/local.ts does; tests usually do not). */
  stateFile?: string;
  /** Table name prefix, so tests sharing a DYNAMODB_ENDPOINT do not collide. */
  tablePrefix?: string;
  /** Seed the example rules (default true). */
  seed?: boolean;
  /**
   * Called with each event put on the (local) bus: the orders' (publisher) and the rules' (the
   * rules checker's `Rules Changed` / `Rules Rejected`); `npm start` prints them.
   */
  onOrderEvent?: (event: BusEvent) => void;
  /**
   * Read the orders and rules tables' streams: publish the order events, check every rules write
   * and keep its history (default true). The benchmark turns it off: its polling would be counted
   * among the requests it measures.
   */
  orderStream?: boolean;
};

export type LocalService = {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The DynamoDB endpoint the handlers use. */
  readonly endpoint: string;
  /** True when we started DynamoDB Local (false: DYNAMODB_ENDPOINT). */
  readonly dynamoDbOwned: boolean;
  /** Table names by their environment variable (`RULES_TABLE` → `klarna-local-rules`). */
  readonly tableNames: Readonly<Record<string, string>>;
  /** The first accepted callback token, for the merchant_urls. */
  readonly token: string;
  /** True when the token is the built-in `local-dev-token`. */
  readonly tokenFromDefault: boolean;
  /** URL of the loopback stand-in for Klarna's OSM API, when no OSM API was configured. */
  readonly osmStandIn?: string;
  /** URL of the loopback stand-in for the Order Management API, when KCO_API_BASE_URL was not set. */
  readonly orderManagementStandIn?: string;
  /** What was seeded: scope → example file. */
  readonly seeded: readonly { scope: string; file: string }[];
  stop(): Promise<void>;
};

const examples = [
  { scope: defaultScope, file: 'bin/local/example-rules.json', document: exampleRules as unknown },
  { scope: orderScope(EXAMPLE_ORDER_ID), file: 'bin/local/example-order-rules.json', document: exampleOrderRules as unknown },
];

/** The example order as Order Management returns it: 44 800, as example-order-rules.json expects. */
const exampleOrder = (orderId: string) =>
  exampleOmOrder(orderId, {
    order_amount: 44800,
    original_order_amount: 44800,
    remaining_authorized_amount: 44800,
    order_lines: [
      { type: 'physical', reference: 'TSHIRT-1', name: 'T-shirt', quantity: 2, unit_price: 19950, tax_rate: 2500, total_amount: 39900, total_discount_amount: 0, total_tax_amount: 7980 },
      { type: 'shipping_fee', reference: 'standard', name: 'Standard delivery', quantity: 1, unit_price: 4900, tax_rate: 2500, total_amount: 4900, total_discount_amount: 0, total_tax_amount: 980 },
    ],
  });

const formatIssues = (issues: readonly RulesIssue[]): string => issues.map((i) => `${i.scope}: ${i.path}: ${i.message}`).join('\n');

/**
 * Start the local service. The handlers read their configuration from process.env, so this sets
 * it (and `stop` puts it back): DYNAMODB_ENDPOINT, the table variables, KCO_CALLBACK_TOKENS
 * (`local-dev-token` unless set) and RULES_CACHE_SECONDS=0 (unless set) so hand edits show at once.
 */
export const startLocal = async (options: StartLocalOptions): Promise<LocalService> => {
  if (!process.env.DYNAMODB_ENDPOINT?.trim()) {
    const java = checkJava();
    if (!java.ok) throw new LocalStartError(java.message);
  }

  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch {
        // Keep stopping the rest: a half-stopped service is worse.
      }
    }
  };

  try {
    let dynamoDb: RunningDynamoDb;
    try {
      dynamoDb = await startDynamoDb(options.dynamoDbPort === undefined ? {} : { port: options.dynamoDbPort });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new LocalStartError(`DynamoDB Local did not start: ${reason}`);
    }
    cleanups.push(() => dynamoDb.stop());

    const prefix = options.tablePrefix ?? DEFAULT_TABLE_PREFIX;
    const nameOf = (definition: TableDefinition): string => localTableName(definition, prefix);
    await createTables(dynamoDb.endpoint, tables, nameOf);

    // The orders table's stream → the publisher handler → a loopback EventBridge, as Lambda's
    // stream trigger would run it; each event reaches onOrderEvent.
    const eventBus = await startFakeEventBridge();
    cleanups.push(() => eventBus.close());
    // A command event put on the bus (detail-type `Capture Order` …) reaches the command-event
    // handler, as the stack's rule would deliver it (issue 24).
    eventBus.onEvent = (event) => {
      options.onOrderEvent?.(event);
      if (event.source !== 'klarna-serverless' && commandDetailTypes[event.detailType] !== undefined) {
        void import('../../functions/orders/handlers/command-event.js')
          .then(({ handler }) =>
            handler(
              { id: randomUUID(), version: '0', account: 'local', time: new Date().toISOString(), region: 'local', resources: [], source: event.source, 'detail-type': event.detailType, detail: event.detail },
              { getRemainingTimeInMillis: () => 15_000 },
            ),
          )
          .catch((error: unknown) => process.stderr.write(`command event: ${error instanceof Error ? error.message : String(error)}\n`));
      }
    };
    // Events EventBridge refuses for good go to a dead-letter queue: a loopback SQS here.
    const deadLetters = await startFakeSqs();
    cleanups.push(() => deadLetters.close());

    const tokenFromDefault = !process.env.KCO_CALLBACK_TOKENS?.trim();
    const settings: Record<string, string> = {
      EVENTBRIDGE_ENDPOINT: eventBus.url,
      EVENT_BUS_NAME: `${prefix}-orders-bus`,
      SQS_ENDPOINT: deadLetters.url,
      REFUSED_EVENTS_QUEUE_URL: `${deadLetters.url}/000000000000/${prefix}-refused-order-events`,
      DYNAMODB_ENDPOINT: dynamoDb.endpoint,
      ...Object.fromEntries(tables.map((definition) => [definition.envVar, nameOf(definition)])),
      ...(tokenFromDefault ? { KCO_CALLBACK_TOKENS: DEFAULT_CALLBACK_TOKEN } : {}),
      ...(process.env.RULES_CACHE_SECONDS?.trim() ? {} : { RULES_CACHE_SECONDS: '0' }),
    };
    const previous = Object.fromEntries(Object.keys(settings).map((key) => [key, process.env[key]]));
    Object.assign(process.env, settings);
    cleanups.push(async () => {
      for (const [key, value] of Object.entries(previous)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });
    // No OSM API configured: serve the OSM routes from a loopback stand-in for Klarna's, so the
    // docs' OSM examples work on a fresh machine without a Klarna client id.
    let osmStandIn: string | undefined;
    if (!['OSM_BASE_URL', 'OSM_CLIENT_ID', 'OSM_CREDENTIALS_SECRET_ARN'].some((name) => process.env[name]?.trim())) {
      const fake = await startFakeOsm();
      cleanups.push(() => fake.close());
      osmStandIn = fake.url;
      process.env.OSM_BASE_URL = fake.url;
      cleanups.push(async () => {
        delete process.env.OSM_BASE_URL;
      });
    }
    // No Order Management API configured: a loopback stand-in that knows the example order, so a
    // push to it is read, recorded and acknowledged on a fresh machine.
    let orderManagementStandIn: string | undefined;
    if (!['KCO_API_BASE_URL', 'KCO_API_KEY', 'KCO_API_USERNAME', 'KCO_API_CREDENTIALS_SECRET_ARN'].some((name) => process.env[name]?.trim())) {
      const fake = await startFakeOrderManagement();
      cleanups.push(() => fake.close());
      fake.putOrder(exampleOrder(EXAMPLE_ORDER_ID));
      orderManagementStandIn = fake.url;
      process.env.KCO_API_BASE_URL = fake.url;
      cleanups.push(async () => {
        delete process.env.KCO_API_BASE_URL;
      });
    }
    // The publisher (and its EventBridge client) loads with the first change, not at start.
    if (options.orderStream !== false) {
      const orderStream = await startOrderStream({
        endpoint: dynamoDb.endpoint,
        tableName: nameOf(ordersTable),
        handle: async (records) => {
          const { handler } = await import('../../functions/orders/handlers/publish-events.js');
          const context = lambdaContext('OrderEventsPublisherFunction');
          return runInvocation(context, () => handler({ Records: records }, context));
        },
        pollMs: 250,
        onError: (error) => process.stderr.write(`orders stream: ${error instanceof Error ? error.message : String(error)}\n`),
      });
      cleanups.push(() => orderStream.stop());
      // The ledger table's stream → the command events publisher (Order Captured …).
      const ledgerStream = await startOrderStream({
        endpoint: dynamoDb.endpoint,
        tableName: nameOf(orderLedgerTable),
        handle: async (records) => (await import('../../functions/orders/handlers/publish-command-events.js')).handler({ Records: records }),
        pollMs: 250,
        onError: (error) => process.stderr.write(`ledger stream: ${error instanceof Error ? error.message : String(error)}\n`),
      });
      cleanups.push(() => ledgerStream.stop());
    }

    const token = (process.env.KCO_CALLBACK_TOKENS ?? DEFAULT_CALLBACK_TOKEN).split(',').map((t) => t.trim()).find(Boolean) ?? DEFAULT_CALLBACK_TOKEN;

    const seeded: { scope: string; file: string }[] = [];
    if (options.seed ?? true) {
      const client = createDocumentClient(dynamoDb.endpoint);
      try {
        for (const example of examples) {
          const result = await putRules(client, nameOf(rulesTable), example.scope, example.document, { updatedBy: 'npm start (example)' });
          if (!result.ok) throw new LocalStartError(`${example.file} is not a valid rules document:\n${formatIssues(result.issues)}`);
          seeded.push({ scope: example.scope, file: example.file });
        }
      } finally {
        client.destroy();
      }
    }

    // After the seeding: the checker reads the seeds from the stream's start, and a cold DynamoDB
    // Local is not asked for both at once.
    if (options.orderStream !== false) {
      // The rules table's stream → the rules checker, as in the stack: a direct write to the local
      // table (not through the rules tool) is checked, its event printed, its history kept.
      const rulesStream = await startTableStream({
        endpoint: dynamoDb.endpoint,
        tableName: nameOf(rulesTable),
        handle: async (records) => (await import('../../functions/rules/handlers/check-rules.js')).handler({ Records: records }),
        pollMs: 250,
        label: 'the rules stream',
        onError: (error) => process.stderr.write(`rules stream: ${error instanceof Error ? error.message : String(error)}\n`),
      });
      cleanups.push(() => rulesStream.stop());
    }

    const playground = createPlayground({
      token,
      endpoint: dynamoDb.endpoint,
      rulesTable: nameOf(rulesTable),
      rulesHistoryTable: nameOf(rulesHistoryTable),
      ordersTable: nameOf(ordersTable),
      events: () => eventBus.events,
    });
    cleanups.push(() => playground.close());

    let server: LocalServer;
    try {
      server = await startLocalServer({ port: options.port, extra: playground.handle });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new LocalStartError(
        code === 'EADDRINUSE'
          ? `Port ${options.port} on 127.0.0.1 is already in use: stop what uses it or choose another with PORT=3001.`
          : `The local server did not start: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    cleanups.push(() => server.close());

    const stateFile = options.stateFile;
    if (stateFile !== undefined) {
      await writeLocalState(stateFile, {
        endpoint: dynamoDb.endpoint,
        rulesTable: nameOf(rulesTable),
        rulesHistoryTable: nameOf(rulesHistoryTable),
        pid: process.pid,
        url: server.url,
      });
      cleanups.push(async () => {
        // Only our own: another `npm start` may have taken over the file since.
        const state = await readLocalState(stateFile);
        if (state?.pid !== process.pid) return;
        await rm(stateFile, { force: true });
        // `.local/` too, when nothing else is in it: npm start leaves the project as it found it.
        await rmdir(dirname(stateFile)).catch(() => undefined);
      });
    }

    let stopping: Promise<void> | undefined;
    return {
      url: server.url,
      endpoint: dynamoDb.endpoint,
      dynamoDbOwned: dynamoDb.owned,
      tableNames: Object.fromEntries(tables.map((definition) => [definition.envVar, nameOf(definition)])),
      token,
      tokenFromDefault,
      ...(osmStandIn ? { osmStandIn } : {}),
      ...(orderManagementStandIn ? { orderManagementStandIn } : {}),
      seeded,
      stop: () => (stopping ??= cleanUp()),
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
};
