/**
 * What every part of the benchmark runs against: DynamoDB Local behind the counting proxy, the
 * tables and example rules of `npm start` (through `startLocal` itself, so nothing is set up
 * differently), a loopback stand-in for Klarna's OSM API that counts what it is asked, and the
 * local HTTP server. Everything is on 127.0.0.1 and stopped by `stop()`.
 */
import { startDynamoDb, type RunningDynamoDb } from '../local/dynamodb-local.js';
import { startFakeOsm, type FakeOsm } from '../local/fake-osm.js';
import { startLocal, type LocalService } from '../local/start.js';
import { startCountingProxy, type CountingProxy } from './proxy.js';

export const BENCH_TOKEN = 'bench-callback-token';
export const BENCH_OSM_CLIENT_ID = 'bench-osm-client';

export type BenchEnvironment = {
  /** DynamoDB Local itself (bypassing the proxy). */
  readonly dynamoDbEndpoint: string;
  readonly proxy: CountingProxy;
  readonly osm: FakeOsm;
  readonly local: LocalService;
  readonly rulesTable: string;
  readonly placementsTable: string;
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
    Object.assign(process.env, {
      DYNAMODB_ENDPOINT: proxy.url,
      KCO_CALLBACK_TOKENS: BENCH_TOKEN,
      OSM_BASE_URL: osm.url,
      OSM_CLIENT_ID: BENCH_OSM_CLIENT_ID,
    });
    const local = await startLocal({ port: 0, tablePrefix: 'bench', orderStream: false });
    stops.push(() => local.stop());
    const rulesTable = local.tableNames.RULES_TABLE;
    const placementsTable = local.tableNames.PLACEMENTS_TABLE;
    if (!rulesTable || !placementsTable) throw new Error('startLocal named no RULES_TABLE or PLACEMENTS_TABLE');
    proxy.reset();
    return { dynamoDbEndpoint: dynamo.endpoint, proxy, osm, local, rulesTable, placementsTable, stop };
  } catch (error) {
    await stop();
    throw error;
  }
};
