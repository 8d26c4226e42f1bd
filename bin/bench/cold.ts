/**
 * Part 2, cold start. Every Lambda of the stack is bundled exactly as the stack bundles it
 * (`esbuildOptions` from lib/klarna-function.ts), and so are the floors from bin/bench:
 *   floor                       imports and constructs the DynamoDB client, answers nothing
 *   floor+POST                  the floor plus one GetItem as a bare, unsigned HTTP POST: the network's share
 *   floor+GetItem               the floor plus one GetItem: the callbacks' and OSM's unavoidable work
 *   floor+libraries             that, plus middy, Powertools, zod/mini and the document client used
 *                               once each (cold-floor-libraries.ts): the libraries' share, no target
 *   floor+notification requests the order's record and the order from Klarna (cold-floor-order.ts)
 *   floor+push requests         every request a push of a new order makes (cold-floor-order.ts)
 * Each run is a fresh `node` (no NODE_OPTIONS, as the stack sets none) that imports one bundle
 * and calls its handler once with a realistic event; the time is read inside the child, from
 * process start (performance.now()) to the answer. Each round runs every floor and every function
 * once, in an order rotated round by round, so all share whatever else the 2 cores are doing.
 *
 * Every function runs twice per round: configured as `npm start` configures it (tokens and
 * credentials in the environment) and as the stack deploys it (tokens and credentials from
 * Secrets Manager, a loopback stand-in answering GetSecretValue; OSM with `osmClientId` set).
 * DynamoDB requests (through the counting proxy), requests to Klarna (both stand-ins) and to
 * Secrets Manager are counted per run.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { build, type Metafile, type Plugin } from 'esbuild';
import { FAKE_SESSION_TOKEN, startFakeSecretsExtension } from '../local/fake-secrets-extension.js';
import { esbuildOptions } from '../../lib/klarna-function.js';
import { lifecycleFunctions } from '../../lib/order-lifecycle.js';
import { functions, orderCommandsFunction } from '../../lib/routes.js';
import { apiGatewayEvent } from '../local/server.js';
import { BENCH_OM_CREDENTIALS, BENCH_OSM_CLIENT_ID, BENCH_TOKEN, type BenchEnvironment } from './environment.js';
import { benchOmOrder, callbackEvent, lambdaContext, orderEvent, placementEvent } from './orders.js';
import { ratio, summarize, type Summary } from './stats.js';
import { checkoutBodies } from './warm.js';

/** Lines of the order each callback's (and each order function's) cold invocation answers. */
export const COLD_ORDER_LINES = 10;
const OSM_PLACEMENT = { key: 'credit-promotion-badge', locale: 'en-US', amount: 12900 } as const;
const MARK = '@@bench ';

export type BundleInfo = {
  readonly id: string;
  readonly entry: string;
  /** The minified .mjs as deployed (the source map is a separate file). */
  readonly bytes: number;
  readonly mapBytes: number;
  /** Which zod API the bundle carries: `mini` (zod/mini only), `classic` (the full API), or none. */
  readonly zod: 'mini' | 'classic' | 'none';
  /** Largest contributors to the bundle, bytes in the output. */
  readonly topInputs: readonly { name: string; bytes: number }[];
};

type ColdRun = {
  answeredMs: number;
  loadedMs: number;
  status: number;
  dynamoDb: Record<string, number>;
  klarnaRequests: number;
  secretsManagerRequests: number;
};

export type FloorId = 'floor' | 'floorWithBarePost' | 'floorWithGetItem' | 'floorWithLibraries' | 'floorWithNotificationRequests' | 'floorWithPushRequests';

export type ColdRow = {
  readonly id: string;
  readonly bundle: BundleInfo;
  /** From process start to the handler's answer (ms). */
  readonly answered: Summary;
  /** From process start to the end of the bundle's import (ms). */
  readonly loaded: Summary;
  readonly statuses: readonly number[];
  /** Requests per cold invocation (the largest seen in any run): DynamoDB by operation, Klarna, Secrets Manager. */
  readonly dynamoDbRequests: Record<string, number>;
  readonly klarnaRequests: number;
  readonly secretsManagerRequests: number;
};

export type ColdFunctionRow = ColdRow & {
  readonly functionId: string;
  /** `local`: tokens and credentials in the environment; `deployed`: from Secrets Manager. */
  readonly config: 'local' | 'deployed';
  /** The floor this function is held against: the work no function of its kind can skip. */
  readonly floorId: FloorId;
  /** Median `answered` ÷ that floor's median; p99 ÷ that floor's p99. */
  readonly ratio: number;
  readonly p99Ratio: number;
  /** Median `answered` ÷ the bare floor's median (the DynamoDB client only). */
  readonly ratioToFloor: number;
  /** No caller waits for it (a stream batch, a schedule): measured, held to no target. */
  readonly asynchronous: boolean;
};

export type ColdResult = {
  readonly runs: number;
  /** How late the Secrets Manager stand-in answered the deployed rows (ms). */
  readonly secretsLatencyMs: number;
  readonly orderLines: number;
  readonly floors: Readonly<Record<FloorId, ColdRow>>;
  readonly functions: readonly ColdFunctionRow[];
};

const packageOf = (input: string): string => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input;

/** Builds one bundle with the stack's esbuild options into `outdir`, and describes it. */
export const bundle = async (id: string, entry: string, outdir: string, plugins: Plugin[] = []): Promise<{ file: string; info: BundleInfo }> => {
  const file = join(outdir, `${id}.mjs`);
  const result = await build({ ...esbuildOptions(resolve(entry), file), metafile: true, logLevel: 'silent', plugins });
  const metafile: Metafile = result.metafile;
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
  const inputs = Object.keys(metafile.inputs);
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const name = packageOf(input);
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  const zod = inputs.some((i) => /node_modules\/zod\/(v4\/classic|v3)\//.test(i))
    ? 'classic'
    : inputs.some((i) => i.includes('node_modules/zod/'))
      ? 'mini'
      : 'none';
  return {
    file,
    info: {
      id,
      entry,
      bytes: (await stat(file)).size,
      mapBytes: (await stat(`${file}.map`)).size,
      zod,
      topInputs: [...byPackage]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([name, bytes]) => ({ name, bytes })),
    },
  };
};

/**
 * What Lambda and the stack would set for function `id`, pointed at loopback, with DynamoDB at
 * `dynamoDbEndpoint` (the counting proxy, or DynamoDB Local itself). Nothing else from our
 * environment. The secrets come separately (`localSecrets`, or the ARNs of the deployed rows).
 */
export const lambdaEnvironment = (env: BenchEnvironment, id: string, dynamoDbEndpoint: string): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'eu-north-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  // Lambda always sets it (temporary role credentials); the extension checks it.
  AWS_SESSION_TOKEN: FAKE_SESSION_TOKEN,
  AWS_LAMBDA_FUNCTION_NAME: id,
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
  AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  DYNAMODB_ENDPOINT: dynamoDbEndpoint,
  RULES_TABLE: env.rulesTable,
  PLACEMENTS_TABLE: env.placementsTable,
  ORDERS_TABLE: env.ordersTable,
  ORDER_LEDGER_TABLE: env.local.tableNames.ORDER_LEDGER_TABLE ?? '',
  OSM_BASE_URL: env.osm.url,
  KCO_API_BASE_URL: env.orderManagement.url,
  EVENTBRIDGE_ENDPOINT: process.env.EVENTBRIDGE_ENDPOINT ?? '',
  EVENT_BUS_NAME: process.env.EVENT_BUS_NAME ?? 'bench-orders-bus',
  BENCH_CONTEXT: JSON.stringify(lambdaContext(id)),
});

/** The secrets as `npm start` gives them: in the environment. */
export const localSecrets = {
  KCO_CALLBACK_TOKENS: BENCH_TOKEN,
  OSM_CLIENT_ID: BENCH_OSM_CLIENT_ID,
  KCO_API_USERNAME: BENCH_OM_CREDENTIALS.username,
  KCO_API_PASSWORD: BENCH_OM_CREDENTIALS.password,
};

const SECRET_ARNS = {
  tokens: 'arn:aws:secretsmanager:eu-north-1:000000000000:secret:KcoCallbackTokens-AbCdEf',
  osm: 'arn:aws:secretsmanager:eu-north-1:000000000000:secret:OsmCredentials-AbCdEf',
  orderManagement: 'arn:aws:secretsmanager:eu-north-1:000000000000:secret:OrderManagementCredentials-AbCdEf',
} as const;

// The child: import the bundle, answer one event, report when (ms since this process started).
// A handler without an HTTP answer counts as 200 when it ends without error (the sweeper) or
// reports no failed record (the publisher).
const runnerSource = `
const mod = await import(process.argv[2]);
const loaded = performance.now();
const event = JSON.parse(process.env.BENCH_EVENT);
const context = JSON.parse(process.env.BENCH_CONTEXT);
context.getRemainingTimeInMillis = () => 3000;
const result = await mod.handler(event, context);
const answered = performance.now();
process.stdout.write('\\n${MARK}' + JSON.stringify({ loaded, answered, status: result === undefined ? 200 : result.statusCode ?? (result.batchItemFailures?.length === 0 ? 200 : 500) }) + '\\n');
process.exit(0);
`;

/** Writes the child's script into `dir`; returns its path. */
export const writeRunner = async (dir: string): Promise<string> => {
  const file = join(dir, 'run.mjs');
  await writeFile(file, runnerSource, 'utf8');
  return file;
};

export type FreshRun = { readonly loaded: number; readonly answered: number; readonly status: number };

/** One fresh `node` that imports `bundleFile` and answers `event` once (`runner` from writeRunner). */
export const runFresh = (runner: string, bundleFile: string, env: Record<string, string>, event: unknown, label: string): Promise<FreshRun> =>
  new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [runner, bundleFile], {
      cwd: dirname(runner),
      env: { ...env, BENCH_EVENT: JSON.stringify(event ?? {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(MARK));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${label}: the cold run exited with ${code}: ${stderr.slice(-800)}${stdout.slice(-500)}`));
        return;
      }
      resolveRun(JSON.parse(line.slice(MARK.length)) as FreshRun);
    });
  });

type Built = { file: string; info: BundleInfo };

/** One row's runs: which bundle, with which environment, answering which event (made per run). */
type Subject = {
  readonly id: string;
  readonly built: Built;
  readonly env: Record<string, string>;
  readonly event: () => unknown;
};

export const runCold = async (
  env: BenchEnvironment,
  options: { runs?: number; only?: readonly string[]; secretsLatencyMs?: number; progress?: (line: string) => void } = {},
): Promise<ColdResult> => {
  const runs = options.runs ?? 30;
  const outdir = await mkdtemp(join(tmpdir(), 'klarna-bench-'));
  // Secrets come as deployed: through the Parameters and Secrets extension (its stand-in here).
  const secretsManager = await startFakeSecretsExtension();
  secretsManager.setSecret(SECRET_ARNS.tokens, JSON.stringify({ tokens: [BENCH_TOKEN] }));
  secretsManager.setSecret(SECRET_ARNS.osm, JSON.stringify({ client_id: BENCH_OSM_CLIENT_ID }));
  secretsManager.setSecret(SECRET_ARNS.orderManagement, JSON.stringify(BENCH_OM_CREDENTIALS));
  // The extension's round trip to Secrets Manager in the deployed rows (0: loopback's own).
  secretsManager.setLatency(options.secretsLatencyMs ?? 0);
  const om = env.orderManagement;
  try {
    const runnerFile = await writeRunner(outdir);

    const floorEntries: Readonly<Record<FloorId, string>> = {
      floor: 'bin/bench/cold-floor.ts',
      floorWithBarePost: 'bin/bench/cold-floor-bare-request.ts',
      floorWithGetItem: 'bin/bench/cold-floor-request.ts',
      floorWithLibraries: 'bin/bench/cold-floor-libraries.ts',
      floorWithNotificationRequests: 'bin/bench/cold-floor-order.ts',
      floorWithPushRequests: 'bin/bench/cold-floor-order.ts',
    };
    const routed = [functions.addressUpdate, functions.countryChange, functions.shippingOptionUpdate, functions.validation, functions.osmPlacement, functions.orderPush, functions.orderNotification];
    const lambdas = [...routed.map(({ id, entry }) => ({ id, entry })), lifecycleFunctions.publisher, lifecycleFunctions.sweeper, orderCommandsFunction].filter(
      ({ id }) => options.only === undefined || options.only.includes(id),
    );
    // The two order floors are one bundle; it is built once.
    const floorBuilds = await Promise.all(
      (['floor', 'floorWithBarePost', 'floorWithGetItem', 'floorWithLibraries', 'floorWithPushRequests'] as const).map(async (id) => [id, await bundle(id, floorEntries[id], outdir)] as const),
    );
    const floorBuilt = Object.fromEntries(floorBuilds) as Record<Exclude<FloorId, 'floorWithNotificationRequests'>, Built>;
    const floorBundles: Record<FloorId, Built> = { ...floorBuilt, floorWithNotificationRequests: floorBuilt.floorWithPushRequests };
    const lambdaBundles = new Map(await Promise.all(lambdas.map(async ({ id, entry }) => [id, await bundle(id, entry, outdir)] as const)));
    for (const { info } of [...floorBuilds.map(([, b]) => b), ...lambdaBundles.values()]) {
      options.progress?.(`  bundle ${info.id}: ${(info.bytes / 1024).toFixed(1)} KiB, zod ${info.zod}`);
    }
    const builtFor = (id: string): Built => {
      const built = lambdaBundles.get(id);
      if (!built) throw new Error(`no bundle for ${id}`);
      return built;
    };

    // ---- Events -----------------------------------------------------------------------------
    // The callbacks answer a 10-line checkout the example rules accept; OSM a placement already in
    // DynamoDB; a push a new 10-line order (one per run, put at the stand-in first); a notification
    // an order already acknowledged (by one in-process push now); the publisher that push's
    // INSERT from the orders table's stream; the sweeper finds nothing waiting.
    const bodies = await checkoutBodies(COLD_ORDER_LINES);
    const inProcess = async (module: string, event: unknown): Promise<number> => {
      const handler = (await import(module)).handler as (event: unknown, context: unknown) => Promise<{ statusCode: number }>;
      return (await handler(event, lambdaContext('bench'))).statusCode;
    };
    const osmEvent = placementEvent(OSM_PLACEMENT.key, OSM_PLACEMENT.locale, OSM_PLACEMENT.amount);
    if ((await inProcess('../../functions/osm/placement.js', osmEvent)) !== 200) throw new Error('priming the OSM placement failed');
    const notifiedOrder = 'bench-cold-notified';
    om.putOrder(benchOmOrder(notifiedOrder, COLD_ORDER_LINES));
    if ((await inProcess('../../functions/orders/handlers/push.js', orderEvent('push', notifiedOrder, BENCH_TOKEN))) !== 200) {
      throw new Error('priming the notified order failed');
    }
    const orderItem = await readOrderItem(env, notifiedOrder);
    const streamEvent = {
      Records: [
        {
          eventID: '1',
          eventName: 'INSERT',
          eventSource: 'aws:dynamodb',
          awsRegion: 'eu-north-1',
          dynamodb: { Keys: { order_id: { S: notifiedOrder } }, NewImage: { ...orderItem, status: { S: 'recorded' } }, SequenceNumber: '100', StreamViewType: 'NEW_AND_OLD_IMAGES' },
        },
      ],
    };
    let pushes = 0;
    let captures = 0;
    const newOrder = (prefix: string): string => {
      pushes += 1;
      const orderId = `bench-cold-${prefix}-${pushes}`;
      om.putOrder(benchOmOrder(orderId, COLD_ORDER_LINES));
      return orderId;
    };
    const eventFor: Record<string, () => unknown> = {
      [functions.addressUpdate.id]: () => callbackEvent('address_update', 'bench-cold-order', bodies.address_update, BENCH_TOKEN),
      [functions.countryChange.id]: () => callbackEvent('country_change', 'bench-cold-order', bodies.address_update, BENCH_TOKEN),
      [functions.shippingOptionUpdate.id]: () => callbackEvent('shipping_option_update', 'bench-cold-order', bodies.shipping_option_update, BENCH_TOKEN),
      [functions.validation.id]: () => callbackEvent('validation', 'bench-cold-order', bodies.validation, BENCH_TOKEN),
      [functions.osmPlacement.id]: () => osmEvent,
      [functions.orderPush.id]: () => orderEvent('push', newOrder('push'), BENCH_TOKEN),
      [functions.orderNotification.id]: () => orderEvent('notification', notifiedOrder, BENCH_TOKEN),
      [lifecycleFunctions.publisher.id]: () => streamEvent,
      [lifecycleFunctions.sweeper.id]: () => ({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }),
      // The shop's capture of one unit of money (a new command id each run) on the acknowledged
      // order: the order, the ledger, its lease, Klarna's capture and the booking transaction.
      [orderCommandsFunction.id]: () => {
        captures += 1;
        return apiGatewayEvent({
          method: 'POST',
          resource: '/orders/{order_id}/captures',
          path: `/orders/${notifiedOrder}/captures`,
          pathParameters: { order_id: notifiedOrder },
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ command_id: `bench-cold-${captures}`, amount: 1 }),
        });
      },
    };
    const floorEvents: Record<FloorId, () => unknown> = {
      floor: () => ({}),
      floorWithBarePost: () => ({}),
      floorWithGetItem: () => ({}),
      floorWithLibraries: () => callbackEvent('address_update', 'bench-cold-order', bodies.address_update, BENCH_TOKEN),
      floorWithNotificationRequests: () => ({ pathParameters: { order_id: notifiedOrder }, requests: 'notification' }),
      floorWithPushRequests: () => ({ pathParameters: { order_id: newOrder('floor') }, requests: 'push' }),
    };
    const asynchronous = new Set<string>([lifecycleFunctions.publisher.id, lifecycleFunctions.sweeper.id]);
    const floorOf = (id: string): FloorId =>
      id === functions.orderPush.id
        ? 'floorWithPushRequests'
        : id === functions.orderNotification.id
          ? 'floorWithNotificationRequests'
          : asynchronous.has(id)
            ? 'floor'
            : 'floorWithGetItem';

    // ---- Environments -----------------------------------------------------------------------
    const lambdaEnv = (id: string): Record<string, string> => lambdaEnvironment(env, id, env.proxy.url);
    const deployedSecrets = {
      KCO_CALLBACK_TOKENS_SECRET_ARN: SECRET_ARNS.tokens,
      OSM_CREDENTIALS_SECRET_ARN: SECRET_ARNS.osm,
      // As the stack deploys with `osmClientId` (docs/configuration.md): the client id keys the cache
      // without the secret, which a cache hit then never reads.
      OSM_CLIENT_ID: BENCH_OSM_CLIENT_ID,
      KCO_API_CREDENTIALS_SECRET_ARN: SECRET_ARNS.orderManagement,
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(secretsManager.port),
    };

    const subjects: Subject[] = [
      ...(Object.keys(floorBundles) as FloorId[]).map((id) => ({ id, built: floorBundles[id], env: { ...lambdaEnv(id), ...localSecrets }, event: floorEvents[id] })),
      ...lambdas.flatMap(({ id }) => [
        { id: `${id}|local`, built: builtFor(id), env: { ...lambdaEnv(id), ...localSecrets }, event: eventFor[id]! },
        { id: `${id}|deployed`, built: builtFor(id), env: { ...lambdaEnv(id), ...deployedSecrets }, event: eventFor[id]! },
      ]),
    ];

    const runOnce = async (subject: Subject): Promise<ColdRun> => {
      const event = subject.event();
      env.proxy.reset();
      const klarnaBefore = env.osm.requests.length + om.requests.length;
      const secretsBefore = secretsManager.calls();
      const report = await runFresh(runnerFile, subject.built.file, subject.env, event, subject.id);
      return {
        answeredMs: report.answered,
        loadedMs: report.loaded,
        status: report.status,
        dynamoDb: env.proxy.counts(),
        klarnaRequests: env.osm.requests.length + om.requests.length - klarnaBefore,
        secretsManagerRequests: secretsManager.calls() - secretsBefore,
      };
    };

    const samples = new Map<string, ColdRun[]>(subjects.map(({ id }) => [id, []]));
    // One untimed run each: the OS page cache and DynamoDB Local's JIT, not our code.
    for (const subject of subjects) await runOnce(subject);
    for (let round = 0; round < runs; round++) {
      // Rotate the order each round so no bundle always follows the same neighbour.
      for (let i = 0; i < subjects.length; i++) {
        const subject = subjects[(i + round * 3) % subjects.length]!;
        samples.get(subject.id)!.push(await runOnce(subject));
      }
      if ((round + 1) % 5 === 0) options.progress?.(`  cold: ${round + 1}/${runs} rounds`);
    }

    const rowOf = (id: string, info: BundleInfo): ColdRow => {
      const runsOf = samples.get(id) ?? [];
      const dynamoDbRequests: Record<string, number> = {};
      for (const run of runsOf) {
        for (const [operation, count] of Object.entries(run.dynamoDb)) dynamoDbRequests[operation] = Math.max(dynamoDbRequests[operation] ?? 0, count);
      }
      return {
        id,
        bundle: info,
        answered: summarize(runsOf.map((r) => r.answeredMs)),
        loaded: summarize(runsOf.map((r) => r.loadedMs)),
        statuses: [...new Set(runsOf.map((r) => r.status))],
        dynamoDbRequests,
        klarnaRequests: Math.max(0, ...runsOf.map((r) => r.klarnaRequests)),
        secretsManagerRequests: Math.max(0, ...runsOf.map((r) => r.secretsManagerRequests)),
      };
    };
    const floors = Object.fromEntries((Object.keys(floorBundles) as FloorId[]).map((id) => [id, rowOf(id, floorBundles[id].info)])) as Record<FloorId, ColdRow>;
    const rows: ColdFunctionRow[] = lambdas.flatMap(({ id }) =>
      (['local', 'deployed'] as const).map((config) => {
        const row = rowOf(`${id}|${config}`, builtFor(id).info);
        const floorId = floorOf(id);
        const floor = floors[floorId];
        return {
          ...row,
          id: config === 'local' ? id : `${id} (deployed)`,
          functionId: id,
          config,
          floorId,
          ratio: ratio(row.answered.median, floor.answered.median),
          p99Ratio: ratio(row.answered.p99, floor.answered.p99),
          ratioToFloor: ratio(row.answered.median, floors.floor.answered.median),
          asynchronous: asynchronous.has(id),
        };
      }),
    );
    for (const row of rows) {
      options.progress?.(
        `  cold ${row.id}: ${row.answered.median.toFixed(1)} ms, p99 ${row.answered.p99.toFixed(1)} (${row.floorId} ${floors[row.floorId].answered.median.toFixed(1)}: ${row.ratio}×, p99 ${row.p99Ratio}×)`,
      );
    }
    return { runs, secretsLatencyMs: options.secretsLatencyMs ?? 0, orderLines: COLD_ORDER_LINES, floors, functions: rows };
  } finally {
    await secretsManager.close();
    await rm(outdir, { recursive: true, force: true });
  }
};

/** The order's item as the orders table holds it (DynamoDB JSON, as a stream record carries it). */
const readOrderItem = async (env: BenchEnvironment, orderId: string): Promise<Record<string, unknown>> => {
  const client = new DynamoDBClient({ endpoint: env.dynamoDbEndpoint, region: 'eu-north-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const { Item } = await client.send(new GetItemCommand({ TableName: env.ordersTable, Key: { order_id: { S: orderId } }, ConsistentRead: true }));
    if (!Item) throw new Error(`the orders table has no ${orderId}`);
    return Item;
  } finally {
    client.destroy();
  }
};
