/**
 * What every part of the benchmark runs against: DynamoDB Local behind the counting proxy, the
 * tables and example rules of `npm start` (through `startLocal` itself, so nothing is set up
 * differently), loopback stand-ins for Klarna's OSM API and Order Management API (with Basic
 * credentials, as Klarna asks) that count what they are asked, and the local HTTP server. Everything is on 127.0.0.1 and stopped by `stop()`.
 */
import { startDynamoDb, type RunningDynamoDb } from '../local/dynamodb-local.js';
import { startFakeOrderManagement, type FakeOrderManagement } from '../local/fake-order-management.js';
import { startFakeOsm, type FakeOsm } from '../local/fake-osm.js';
import { startLocal, type LocalService } from '../local/start.js';
import { startCountingProxy, type CountingProxy } from './proxy.js';

export const BENCH_TOKEN = 'bench-callback-token';
export const BENCH_OSM_CLIENT_ID = 'bench-osm-client';
export const BENCH_OM_CREDENTIALS = { username: 'bench-merchant', password: 'bench-password' } as const;

export type BenchEnvironment = {
  /** DynamoDB Local itself (bypassing the proxy). */
  readonly dynamoDbEndpoint: string;
  readonly proxy: CountingProxy;
  readonly osm: FakeOsm;
  readonly orderManagement: FakeOrderManagement;
  readonly local: LocalService;
  readonly rulesTable: string;
  readonly placementsTable: string;
  readonly ordersTable: string;
  stop(): Promise<void>;
};

export const startBenchEnvironment = async (): Promise<BenchEnvironment> => {
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const step of stops.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const dynamo: RunningDynamoDb = await startDynamoDb();
    stops.push(() => dynamo.stop());
    const proxy = await startCountingProxy(dynamo.endpoint);
    stops.push(() => proxy.close());
    const osm = await startFakeOsm();
    // Klarna's answers stay fresh for the whole run: every OSM request after the first is a hit.
    osm.defaultCacheControl = 'max-age=3600';
    stops.push(() => osm.close());
    const orderManagement = await startFakeOrderManagement();
    orderManagement.credentials = { ...BENCH_OM_CREDENTIALS };
    stops.push(() => orderManagement.close());
    Object.assign(process.env, {
      DYNAMODB_ENDPOINT: proxy.url,
      KCO_CALLBACK_TOKENS: BENCH_TOKEN,
      OSM_BASE_URL: osm.url,
      OSM_CLIENT_ID: BENCH_OSM_CLIENT_ID,
      KCO_API_BASE_URL: orderManagement.url,
      KCO_API_USERNAME: BENCH_OM_CREDENTIALS.username,
      KCO_API_PASSWORD: BENCH_OM_CREDENTIALS.password,
    });
    const local = await startLocal({ port: 0, tablePrefix: 'bench', orderStream: false });
    stops.push(() => local.stop());
    const rulesTable = local.tableNames.RULES_TABLE;
    const placementsTable = local.tableNames.PLACEMENTS_TABLE;
    const ordersTable = local.tableNames.ORDERS_TABLE;
    if (!rulesTable || !placementsTable || !ordersTable) throw new Error('startLocal named no RULES_TABLE, PLACEMENTS_TABLE or ORDERS_TABLE');
    proxy.reset();
    return { dynamoDbEndpoint: dynamo.endpoint, proxy, osm, orderManagement, local, rulesTable, placementsTable, ordersTable, stop };
  } catch (error) {
    await stop();
    throw error;
  }
};
