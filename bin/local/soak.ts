/**
 * `npm run soak` as a function: many handler invocations in one process, called directly as the
 * Lambda runtime calls them (one at a time, a fresh API Gateway event each), with the heap
 * sampled after a forced full GC every `sampleEvery` invocations. A leak shows as heap that keeps
 * growing from sample to sample; a healthy container levels off after warm-up.
 *
 * The rules come from DynamoDB Local once per order and then from the container's warm cache
 * (RULES_CACHE_SECONDS is set high), so the run measures our code, not DynamoDB: the report says
 * how many DynamoDB reads the measured run made (expected 0).
 *
 * Needs `global.gc`: run node with `--expose-gc` (npm run soak does).
 */
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { rulesTable } from '../../lib/tables.js';
import { documentClient, createDocumentClient } from '../../functions/shared/dynamodb.js';
import { logger } from '../../functions/shared/log.js';
import { putRules } from '../../functions/shared/rules-store.js';
import { handler as addressUpdate } from '../../functions/kco/handlers/address-update.js';
import { handler as countryChange } from '../../functions/kco/handlers/country-change.js';
import { handler as shippingOptionUpdate } from '../../functions/kco/handlers/shipping-option-update.js';
import { handler as validation } from '../../functions/kco/handlers/validation.js';
import { createTables, startDynamoDb } from './dynamodb-local.js';
import {
  DEFAULT_MIX,
  latencyStats,
  makeCarts,
  mixPicker,
  prepareOrders,
  seededRandom,
  type CallbackKind,
  type LatencyStats,
  type Transport,
} from './load.js';
import exampleRules from './example-rules.json';
import { kcoCallbackEvent, lambdaContext } from './server.js';

type LambdaHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

const handlers: Record<CallbackKind, LambdaHandler> = {
  address_update: addressUpdate,
  country_change: countryChange,
  shipping_option_update: shippingOptionUpdate,
  validation,
};

const TOKEN = 'soak-token';
const MB = 1024 * 1024;

export type SoakOptions = {
  invocations: number;
  /** Sample the heap (after a forced GC) every this many invocations. */
  sampleEvery: number;
  /** Distinct orders the invocations are spread over (each one's rules are cached after first use). */
  orders: number;
  seed: number;
  /** Heap growth from the second sample to the last beyond which the soak fails. */
  maxGrowthBytes: number;
  /** Level of the handlers' logger during the run (their INFO line per call is formatted only at INFO). */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /**
   * Self-check of the harness only: keep this many bytes per invocation alive, a leak on
   * purpose, so a test can show the soak catches one. 0 (the default) for real runs.
   */
  leakBytesPerInvocation?: number;
  progress?: (line: string) => void;
};

export type HeapSample = { invocations: number; heapUsed: number; heapTotal: number; external: number; rss: number };

export type SoakReport = {
  date: string;
  node: string;
  cpus: number;
  invocations: number;
  sampleEvery: number;
  orders: number;
  seed: number;
  logLevel: string;
  leakBytesPerInvocation: number;
  durationMs: number;
  invocationsPerSecond: number;
  /** Milliseconds per invocation, inside the process (no network, warm cache). */
  latency: LatencyStats;
  errors: { total: number; samples: string[] };
  /** DynamoDB round trips during the measured invocations (after warm-up). */
  dynamoDbReads: number;
  /** Heap after warm-up and a forced GC, before the first measured invocation. */
  baseline: HeapSample;
  samples: HeapSample[];
  /** heapUsed of the last sample minus that of the second (the first still settles). */
  growthBytes: number;
  maxGrowthBytes: number;
  ok: boolean;
};

const heapSample = (gc: () => void, invocations: number): HeapSample => {
  // Twice: the first pass may leave finalizable objects for the second.
  gc();
  gc();
  const { heapUsed, heapTotal, external, rss } = process.memoryUsage();
  return { invocations, heapUsed, heapTotal, external, rss };
};

/**
 * Start DynamoDB Local (or use DYNAMODB_ENDPOINT), seed the example rules, point the handlers at
 * them with a long cache, warm up, then run and sample. process.env is put back afterwards.
 */
export const runSoak = async (options: SoakOptions): Promise<SoakReport> => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('The soak needs global.gc: run node with --expose-gc (npm run soak does).');
  for (const [name, value] of [
    ['invocations', options.invocations],
    ['sampleEvery', options.sampleEvery],
    ['orders', options.orders],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
  }
  const say = options.progress ?? (() => undefined);
  const logLevel = options.logLevel ?? 'WARN';

  const envBefore = { ...process.env };
  say('Starting DynamoDB Local and seeding the example rules…');
  const dynamoDb = await startDynamoDb();
  try {
    const table = `klarna-soak-${randomUUID().slice(0, 8)}-rules`;
    await createTables(dynamoDb.endpoint, [rulesTable], () => table);
    const seeder = createDocumentClient(dynamoDb.endpoint);
    try {
      const put = await putRules(seeder, table, 'default', exampleRules);
      if (!put.ok) throw new Error('bin/local/example-rules.json is not a valid rules document');
    } finally {
      seeder.destroy();
    }
    Object.assign(process.env, {
      DYNAMODB_ENDPOINT: dynamoDb.endpoint,
      RULES_TABLE: table,
      KCO_CALLBACK_TOKENS: TOKEN,
      RULES_CACHE_SECONDS: '3600',
    });
    logger.setLogLevel(logLevel);

    // Every round trip the handlers' client makes (each attempt), to show the run is cache-served.
    let reads = 0;
    documentClient().middlewareStack.add(
      (next) => async (args) => {
        reads += 1;
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'soakCountRoundTrips' },
    );

    const direct: Transport = async (callback, orderId, body) => {
      const result = await handlers[callback](
        kcoCallbackEvent(callback, orderId, body, { token: TOKEN, headers: { 'content-type': 'application/json', 'user-agent': 'Klarna-Soak/1.0' } }),
        lambdaContext(callback),
      );
      return { status: result.statusCode, body: result.body };
    };

    const random = seededRandom(options.seed);
    say(`Preparing ${options.orders} orders and warming up…`);
    const orders = await prepareOrders(makeCarts(options.orders, random, `soak-${options.seed}`), direct);
    for (const order of orders) {
      for (const kind of Object.keys(order.bodies) as CallbackKind[]) {
        const answer = await direct(kind, order.orderId, order.bodies[kind]);
        if (answer.status !== 200) throw new Error(`Warm-up: ${kind} for ${order.orderId} answered ${answer.status} ${answer.body.slice(0, 200)}`);
      }
    }

    const nextKind = mixPicker(DEFAULT_MIX, random);
    const latencies = new Float64Array(options.invocations);
    const samples: HeapSample[] = [];
    const errorSamples: string[] = [];
    let errors = 0;
    const leak = options.leakBytesPerInvocation ?? 0;
    const leaked: number[][] = [];
    const readsBefore = reads;
    const baseline = heapSample(gc, 0);
    say(`Running ${options.invocations} invocations (heap after warm-up: ${(baseline.heapUsed / MB).toFixed(1)} MB)…`);

    const started = performance.now();
    for (let i = 0; i < options.invocations; i++) {
      const kind = nextKind();
      const order = orders[Math.floor(random() * orders.length)]!;
      const sent = performance.now();
      const answer = await direct(kind, order.orderId, order.bodies[kind]);
      latencies[i] = performance.now() - sent;
      if (leak > 0) leaked.push(new Array<number>(Math.ceil(leak / 8)).fill(i));
      if (answer.status !== 200) {
        errors += 1;
        if (errorSamples.length < 10) errorSamples.push(`${kind} ${order.orderId}: status ${answer.status} ${answer.body.slice(0, 160)}`);
      }
      if ((i + 1) % options.sampleEvery === 0) {
        const sample = heapSample(gc, i + 1);
        samples.push(sample);
        say(`${String(i + 1).padStart(8)} invocations: heap ${(sample.heapUsed / MB).toFixed(2)} MB, rss ${(sample.rss / MB).toFixed(1)} MB`);
      }
    }
    const durationMs = performance.now() - started;

    const second = samples[1] ?? samples[0];
    const last = samples[samples.length - 1];
    const growthBytes = second && last ? last.heapUsed - second.heapUsed : 0;
    return {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      invocations: options.invocations,
      sampleEvery: options.sampleEvery,
      orders: options.orders,
      seed: options.seed,
      logLevel,
      leakBytesPerInvocation: leak,
      durationMs: Math.round(durationMs),
      invocationsPerSecond: Math.round(options.invocations / (durationMs / 1000)),
      latency: latencyStats(latencies, errors),
      errors: { total: errors, samples: errorSamples },
      dynamoDbReads: reads - readsBefore,
      baseline,
      samples,
      growthBytes,
      maxGrowthBytes: options.maxGrowthBytes,
      ok: errors === 0 && growthBytes <= options.maxGrowthBytes,
    };
  } finally {
    process.env = envBefore;
    await dynamoDb.stop();
  }
};

/** The report for the terminal: the samples, the growth and the verdict. */
export const formatSoakReport = (report: SoakReport): string => {
  const mb = (bytes: number): string => (bytes / MB).toFixed(2);
  return [
    'invocations   heapUsed MB   heapTotal MB   rss MB',
    `${'warm-up'.padStart(11)}   ${mb(report.baseline.heapUsed).padStart(11)}   ${mb(report.baseline.heapTotal).padStart(12)}   ${mb(report.baseline.rss).padStart(6)}`,
    ...report.samples.map(
      (s) => `${String(s.invocations).padStart(11)}   ${mb(s.heapUsed).padStart(11)}   ${mb(s.heapTotal).padStart(12)}   ${mb(s.rss).padStart(6)}`,
    ),
    '',
    `heap growth from the second sample to the last: ${report.growthBytes >= 0 ? '+' : ''}${mb(report.growthBytes)} MB (bound ${mb(report.maxGrowthBytes)} MB)`,
    `${report.invocations} invocations in ${(report.durationMs / 1000).toFixed(1)} s (${report.invocationsPerSecond}/s); ` +
      `per invocation p50 ${report.latency.p50} ms, p99 ${report.latency.p99} ms, max ${report.latency.max} ms`,
    `errors: ${report.errors.total}${report.errors.samples.length ? `\n  ${report.errors.samples.join('\n  ')}` : ''}; ` +
      `DynamoDB round trips during the run: ${report.dynamoDbReads}; logger level ${report.logLevel}`,
    `Node ${report.node}, ${report.cpus} CPUs`,
    report.ok ? 'OK: heap levels off and every invocation answered as expected.' : 'FAILED: see errors or heap growth above.',
  ].join('\n');
};
