/**
 * Part 3, round trips. DynamoDB requests are counted by the proxy in front of DynamoDB Local (so
 * they are what the code really sent), Klarna requests by the OSM stand-in.
 * - KCO: the real callback wrapper (kcoCallback) over a DynamoDbRulesSource with the production
 *   cache time (5 s) and an injected clock, on the container's own DynamoDB client: a fresh
 *   container, the same order again, the rest of a checkout, another order, after the cache time.
 *   The cold part counts the same for real fresh processes.
 * - OSM: the placement handler on a cache hit (memory, and DynamoDB as a fresh container sees it),
 *   its latency against a bare GetItem of the same item through the same client and proxy.
 */
import { performance } from 'node:perf_hooks';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { addressUpdate, shippingOptionUpdate, validation } from '../../functions/kco/callbacks.js';
import { kcoCallback, type CallbackName } from '../../functions/kco/handlers/kco-handler.js';
import { callbackRequestParser, validationOrderParser } from '../../functions/kco/order.js';
import { createOsmHandler, readOsmConfig } from '../../functions/osm/placement.js';
import { placementCacheKey } from '../../functions/osm/cache-policy.js';
import { documentClient } from '../../functions/shared/dynamodb.js';
import { DynamoDbRulesSource } from '../../functions/shared/rules-store.js';
import { BENCH_OSM_CLIENT_ID, BENCH_TOKEN, type BenchEnvironment } from './environment.js';
import { callbackEvent, lambdaContext, placementEvent } from './orders.js';
import { ratio, summarize, type Summary } from './stats.js';
import { checkoutBodies } from './warm.js';

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export type TripRow = {
  readonly case: string;
  readonly callback: CallbackName;
  readonly status: number;
  /** DynamoDB requests by operation. */
  readonly dynamoDb: Record<string, number>;
  readonly total: number;
  /** What the issue allows for this case. */
  readonly target?: number;
};

export type OsmTrips = {
  readonly memoryHit: { readonly requestsToKlarna: number; readonly dynamoDb: Record<string, number>; readonly hits: number; readonly latency: Summary };
  readonly dynamoDbHit: { readonly requestsToKlarna: number; readonly dynamoDb: Record<string, number>; readonly hits: number; readonly latency: Summary };
  readonly bareGetItem: Summary;
  /** Median DynamoDB-hit latency / median bare GetItem. */
  readonly ratioDynamoDbHitToGetItem: number;
};

export type RoundTripsResult = { readonly rulesCacheSeconds: number; readonly kco: readonly TripRow[]; readonly osm: OsmTrips };

const RULES_CACHE_SECONDS = 5;
const OSM_PLACEMENT = { key: 'credit-promotion-badge', locale: 'en-US', amount: 25900 } as const;

const kcoTrips = async (env: BenchEnvironment): Promise<TripRow[]> => {
  let now = 1_000_000;
  const source = new DynamoDbRulesSource(documentClient(), env.rulesTable, {
    cacheSeconds: RULES_CACHE_SECONDS,
    staleSeconds: 60,
    now: () => now,
  });
  const rules = () => source;
  const handlers: Record<'address_update' | 'shipping_option_update' | 'validation', Handler> = {
    address_update: kcoCallback({ callback: 'address_update', parser: callbackRequestParser, decide: addressUpdate, rules }) as unknown as Handler,
    shipping_option_update: kcoCallback({
      callback: 'shipping_option_update',
      parser: callbackRequestParser,
      decide: shippingOptionUpdate,
      rules,
    }) as unknown as Handler,
    validation: kcoCallback({ callback: 'validation', parser: validationOrderParser, decide: validation, rules }) as unknown as Handler,
  };
  const bodies = await checkoutBodies(10);
  const rows: TripRow[] = [];
  const measure = async (label: string, callback: keyof typeof handlers, orderId: string, target?: number): Promise<void> => {
    env.proxy.reset();
    const answer = await handlers[callback](callbackEvent(callback, orderId, bodies[callback], BENCH_TOKEN), lambdaContext('bench'));
    rows.push({ case: label, callback, status: answer.statusCode, dynamoDb: env.proxy.counts(), total: env.proxy.total(), ...(target !== undefined ? { target } : {}) });
  };
  await measure('fresh container (nothing cached)', 'address_update', 'trips-order-1', 1);
  now += 1000;
  await measure('same order again within the cache time', 'address_update', 'trips-order-1', 0);
  now += 1000;
  await measure('rest of the checkout: shipping option', 'shipping_option_update', 'trips-order-1', 0);
  now += 1000;
  await measure('rest of the checkout: validation', 'validation', 'trips-order-1', 0);
  now += 500;
  // The default scope is cached; the new order's own scope has never been read.
  await measure("another order within the cache time (its own scope only)", 'address_update', 'trips-order-2');
  now += RULES_CACHE_SECONDS * 1000 + 1;
  await measure('after the cache time (both scopes again)', 'address_update', 'trips-order-1', 1);
  return rows;
};

const osmTrips = async (env: BenchEnvironment, samples: number): Promise<OsmTrips> => {
  const event = (): APIGatewayProxyEvent => placementEvent(OSM_PLACEMENT.key, OSM_PLACEMENT.locale, OSM_PLACEMENT.amount);
  // Each invocation gets a context of its own, as in Lambda: one context's budget (5 s) runs out
  // long before the samples do, and middy then answers with its own timeout.
  const context = (): Context => lambdaContext('bench-osm');
  // The module's handler (middy, the container's memory cache) for memory hits; a handler without
  // memory cache stands for a fresh container, which finds the placement in DynamoDB.
  const warmHandler = (await import('../../functions/osm/placement.js')).handler as unknown as Handler;
  const config = readOsmConfig();
  const freshContainer = createOsmHandler({ config: { ...config, memoryEntries: 0 } });
  const first = await warmHandler(event(), context());
  if (first.statusCode !== 200) throw new Error(`OSM answered ${first.statusCode} for the bench placement`);

  const key = placementCacheKey({
    endpointId: config.client.endpoint.id,
    clientId: BENCH_OSM_CLIENT_ID,
    placementKey: OSM_PLACEMENT.key,
    locale: OSM_PLACEMENT.locale,
    purchaseAmount: OSM_PLACEMENT.amount,
  });
  const client = documentClient();
  const bareGet = async (): Promise<void> => {
    const out = await client.send(
      new GetCommand({ TableName: env.placementsTable, Key: { placement_id: key.placementId, purchase_amount: key.purchaseAmount } }),
    );
    if (!out.Item) throw new Error('the cached placement is not in DynamoDB');
  };

  // Hits and bare GetItems alternate, so both meet the same DynamoDB Local and GC weather.
  const run = async (handler: (e: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>) => {
    for (let i = 0; i < 20; i++) {
      await handler(event());
      await bareGet();
    }
    const times: number[] = [];
    const bare: number[] = [];
    let dynamoDbRequests: Record<string, number> = {};
    let klarna = 0;
    for (let i = 0; i < samples; i++) {
      const bareFirst = i % 2 === 1;
      if (bareFirst) {
        const t = performance.now();
        await bareGet();
        bare.push(performance.now() - t);
      }
      env.proxy.reset();
      const klarnaBefore = env.osm.requests.length;
      const t0 = performance.now();
      const answer = await handler(event());
      const t1 = performance.now();
      klarna += env.osm.requests.length - klarnaBefore;
      for (const [operation, count] of Object.entries(env.proxy.counts())) dynamoDbRequests = { ...dynamoDbRequests, [operation]: (dynamoDbRequests[operation] ?? 0) + count };
      if (answer.statusCode !== 200 || answer.headers?.['x-cache'] !== 'hit') {
        throw new Error(`expected a cache hit, got ${answer.statusCode} ${String(answer.headers?.['x-cache'])}`);
      }
      times.push(t1 - t0);
      if (!bareFirst) {
        const t = performance.now();
        await bareGet();
        bare.push(performance.now() - t);
      }
    }
    return { times, bare, counts: dynamoDbRequests, klarna };
  };

  const memory = await run((e) => warmHandler(e, context()));
  const dynamo = await run((e) => freshContainer(e));
  // Paired with the DynamoDB hits (the memory-hit run interleaves GetItems too, but with idle gaps).
  const bareGetItem = summarize(dynamo.bare);
  if (process.env.BENCH_DEBUG) console.log(summarize(memory.bare), bareGetItem);
  const perHit = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).map(([op, n]) => [op, n / samples]));
  const dynamoLatency = summarize(dynamo.times);
  return {
    memoryHit: { requestsToKlarna: memory.klarna, dynamoDb: perHit(memory.counts), hits: samples, latency: summarize(memory.times) },
    dynamoDbHit: { requestsToKlarna: dynamo.klarna, dynamoDb: perHit(dynamo.counts), hits: samples, latency: dynamoLatency },
    bareGetItem,
    ratioDynamoDbHitToGetItem: ratio(dynamoLatency.median, bareGetItem.median),
  };
};

export const runRoundTrips = async (
  env: BenchEnvironment,
  options: { osmSamples?: number; progress?: (line: string) => void } = {},
): Promise<RoundTripsResult> => {
  const kco = await kcoTrips(env);
  for (const row of kco) options.progress?.(`  trips ${row.callback} — ${row.case}: ${row.total} ${JSON.stringify(row.dynamoDb)} → ${row.status}`);
  const osm = await osmTrips(env, options.osmSamples ?? 300);
  options.progress?.(
    `  trips OSM memory hit: ${osm.memoryHit.requestsToKlarna} to Klarna, ${JSON.stringify(osm.memoryHit.dynamoDb)} DynamoDB, ${osm.memoryHit.latency.median.toFixed(3)} ms; ` +
      `DynamoDB hit: ${osm.dynamoDbHit.requestsToKlarna} to Klarna, ${JSON.stringify(osm.dynamoDbHit.dynamoDb)}, ${osm.dynamoDbHit.latency.median.toFixed(3)} ms; bare GetItem ${osm.bareGetItem.median.toFixed(3)} ms`,
  );
  return { rulesCacheSeconds: RULES_CACHE_SECONDS, kco, osm };
};
