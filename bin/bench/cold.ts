/**
 * Part 2, cold start. Every function in lib/routes.ts is bundled exactly as the stack bundles it
 * (`esbuildOptions` from lib/klarna-function.ts), and so are two floors from bin/bench:
 *   floor          imports and constructs the DynamoDB client, answers nothing (the floor)
 *   floor+POST     the same plus that GetItem as a bare, unsigned HTTP POST: the network's share
 *   floor+GetItem  the same plus one GetItem: what the first DynamoDB request of a process costs
 * Each run is a fresh `node` (no NODE_OPTIONS, as the stack sets none) that
 * imports one bundle and calls its handler once with a realistic event; the time is read inside
 * the child, from process start (performance.now()) to the answer. Runs interleave a function
 * and the floor, round by round, so both share whatever else the 2 cores are doing.
 * The callbacks read their rules from DynamoDB Local (through the counting proxy), OSM finds its
 * placement in DynamoDB (put there before the runs): the requests each run makes are counted.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build, type Metafile } from 'esbuild';
import { startFakeSecretsManager } from '../local/fake-secrets-manager.js';
import { esbuildOptions } from '../../lib/klarna-function.js';
import { functions } from '../../lib/routes.js';
import { BENCH_OSM_CLIENT_ID, BENCH_TOKEN, type BenchEnvironment } from './environment.js';
import { callbackEvent, lambdaContext, placementEvent } from './orders.js';
import { ratio, summarize, type Summary } from './stats.js';
import { checkoutBodies } from './warm.js';

/** Lines of the order each callback's cold invocation answers. */
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

export type ColdRun = { answeredMs: number; loadedMs: number; wallMs: number; status: number; dynamoDb: Record<string, number>; klarnaRequests: number };

export type ColdRow = {
  readonly id: string;
  readonly bundle: BundleInfo;
  /** From process start to the handler's answer (ms). */
  readonly answered: Summary;
  /** From process start to the end of the bundle's import (ms). */
  readonly loaded: Summary;
  /** Parent's view: spawn to exit (ms). */
  readonly wall: Summary;
  /** Median `answered` / the floor's median `answered`. */
  readonly ratioToFloor: number;
  readonly ratioToFloorWithGetItem: number;
  readonly statuses: readonly number[];
  /** DynamoDB requests per cold invocation, by operation (the largest seen in any run). */
  readonly dynamoDbRequests: Record<string, number>;
  readonly klarnaRequestsPerRun: number;
};

export type ColdResult = {
  readonly runs: number;
  readonly orderLines: number;
  readonly floor: Omit<ColdRow, 'ratioToFloor' | 'ratioToFloorWithGetItem'>;
  readonly floorWithGetItem: Omit<ColdRow, 'ratioToFloor' | 'ratioToFloorWithGetItem'>;
  /** The floor plus the same GetItem as a bare HTTP POST (no SDK): the network's share alone. */
  readonly floorWithBarePost: Omit<ColdRow, 'ratioToFloor' | 'ratioToFloorWithGetItem'>;
  readonly functions: readonly ColdRow[];
  /**
   * AddressUpdateFunction as deployed: the tokens come from Secrets Manager (a loopback stand-in
   * answering GetSecretValue) instead of KCO_CALLBACK_TOKENS. Not one of the rows.
   */
  readonly withSecretsManager: ColdRow & { readonly secretsManagerRequests: number };
  /**
   * AddressUpdateFunction run with NODE_OPTIONS=--enable-source-maps, as the stack deployed it
   * until that was measured here (and the floor under the same option, for its ratio).
   */
  readonly withSourceMaps: ColdRow;
  readonly floorWithSourceMaps: Omit<ColdRow, 'ratioToFloor' | 'ratioToFloorWithGetItem'>;
};

const packageOf = (input: string): string => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input;

const bundle = async (id: string, entry: string, outdir: string): Promise<{ file: string; info: BundleInfo }> => {
  const file = join(outdir, `${id}.mjs`);
  const result = await build({ ...esbuildOptions(resolve(entry), file), metafile: true, logLevel: 'silent' });
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

const BENCH_TOKENS_SECRET_ARN = 'arn:aws:secretsmanager:eu-north-1:000000000000:secret:KcoCallbackTokens-AbCdEf';

// The child: import the bundle, answer one event, report when (ms since this process started).
const runner = `
import { performance } from 'node:perf_hooks';
const mod = await import(process.argv[2]);
const loaded = performance.now();
const event = JSON.parse(process.env.BENCH_EVENT);
const context = JSON.parse(process.env.BENCH_CONTEXT);
context.getRemainingTimeInMillis = () => 3000;
const result = await mod.handler(event, context);
const answered = performance.now();
process.stdout.write('\\n${MARK}' + JSON.stringify({ loaded, answered, status: result?.statusCode ?? 0 }) + '\\n');
process.exit(0);
`;

export const runCold = async (
  env: BenchEnvironment,
  options: { runs?: number; progress?: (line: string) => void } = {},
): Promise<ColdResult> => {
  const runs = options.runs ?? 30;
  const outdir = await mkdtemp(join(tmpdir(), 'klarna-bench-'));
  const secretsManager = await startFakeSecretsManager();
  secretsManager.setSecret(BENCH_TOKENS_SECRET_ARN, JSON.stringify({ tokens: [BENCH_TOKEN] }));
  try {
    const runnerFile = join(outdir, 'run.mjs');
    await writeFile(runnerFile, runner, 'utf8');

    // The callbacks and OSM. The order lifecycle's functions need events, stand-ins and a floor of
    // their own (their first unavoidable request is a read from Klarna): not measured here yet.
    const definitions = [functions.addressUpdate, functions.countryChange, functions.shippingOptionUpdate, functions.validation, functions.osmPlacement];
    const built = await Promise.all([
      bundle('Floor', 'bin/bench/cold-floor.ts', outdir),
      bundle('FloorWithGetItem', 'bin/bench/cold-floor-request.ts', outdir),
      bundle('FloorWithBarePost', 'bin/bench/cold-floor-bare-request.ts', outdir),
      ...definitions.map((def) => bundle(def.id, def.entry, outdir)),
    ]);
    const [floorBundle, floorRequestBundle, floorPostBundle, ...functionBundles] = built as [
      typeof built[0],
      typeof built[0],
      typeof built[0],
      ...typeof built,
    ];
    for (const { info } of built) options.progress?.(`  bundle ${info.id}: ${(info.bytes / 1024).toFixed(1)} KiB, zod ${info.zod}`);

    // Events: the callbacks answer a 10-line checkout accepted by the example rules; OSM a placement
    // that is already in DynamoDB (put there by one in-process call now).
    const bodies = await checkoutBodies(COLD_ORDER_LINES);
    const osm = (await import('../../functions/osm/placement.js')).handler as unknown as (
      event: unknown,
      context: unknown,
    ) => Promise<{ statusCode: number }>;
    const primed = await osm(placementEvent(OSM_PLACEMENT.key, OSM_PLACEMENT.locale, OSM_PLACEMENT.amount), lambdaContext('bench'));
    if (primed.statusCode !== 200) throw new Error(`priming the OSM placement answered ${primed.statusCode}`);
    const orderId = 'bench-cold-order';
    const eventFor: Record<string, unknown> = {
      [functions.addressUpdate.id]: callbackEvent('address_update', orderId, bodies.address_update, BENCH_TOKEN),
      [functions.countryChange.id]: callbackEvent('country_change', orderId, bodies.address_update, BENCH_TOKEN),
      [functions.shippingOptionUpdate.id]: callbackEvent('shipping_option_update', orderId, bodies.shipping_option_update, BENCH_TOKEN),
      [functions.validation.id]: callbackEvent('validation', orderId, bodies.validation, BENCH_TOKEN),
      [functions.osmPlacement.id]: placementEvent(OSM_PLACEMENT.key, OSM_PLACEMENT.locale, OSM_PLACEMENT.amount),
    };

    // What Lambda and the stack would set, pointed at loopback. Nothing else from our environment.
    const baseEnv = (id: string): Record<string, string> => ({
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'eu-north-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_LAMBDA_FUNCTION_NAME: id,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      DYNAMODB_ENDPOINT: env.proxy.url,
      RULES_TABLE: env.rulesTable,
      PLACEMENTS_TABLE: env.placementsTable,
      KCO_CALLBACK_TOKENS: BENCH_TOKEN,
      OSM_BASE_URL: env.osm.url,
      OSM_CLIENT_ID: BENCH_OSM_CLIENT_ID,
      BENCH_CONTEXT: JSON.stringify(lambdaContext(id)),
    });

    const { KCO_CALLBACK_TOKENS: _inline, ...withoutInlineTokens } = baseEnv(functions.addressUpdate.id);
    const secretsManagerEnv: Record<string, string> = {
      ...withoutInlineTokens,
      KCO_CALLBACK_TOKENS_SECRET_ARN: BENCH_TOKENS_SECRET_ARN,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
    };
    const SECRETS_MANAGER_ID = `${functions.addressUpdate.id} (tokens from Secrets Manager)`;
    const SOURCE_MAPS_ID = `${functions.addressUpdate.id} with --enable-source-maps`;
    const FLOOR_SOURCE_MAPS_ID = 'Floor with --enable-source-maps';
    const withSourceMapsEnv = (id: string): Record<string, string> => ({ ...baseEnv(id), NODE_OPTIONS: '--enable-source-maps' });

    const runOnce = (file: string, id: string, event: unknown, childEnv: Record<string, string> = baseEnv(id)): Promise<ColdRun> =>
      new Promise((resolveRun, reject) => {
        env.proxy.reset();
        const klarnaBefore = env.osm.requests.length;
        const started = performance.now();
        const child = spawn(process.execPath, [runnerFile, file], {
          cwd: outdir,
          env: { ...childEnv, BENCH_EVENT: JSON.stringify(event ?? {}) },
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
          const wallMs = performance.now() - started;
          const line = stdout.split('\n').find((l) => l.startsWith(MARK));
          if (code !== 0 || line === undefined) {
            reject(new Error(`${id}: the cold run exited with ${code}: ${stderr.slice(0, 500)}${stdout.slice(0, 500)}`));
            return;
          }
          const report = JSON.parse(line.slice(MARK.length)) as { loaded: number; answered: number; status: number };
          resolveRun({
            answeredMs: report.answered,
            loadedMs: report.loaded,
            wallMs,
            status: report.status,
            dynamoDb: env.proxy.counts(),
            klarnaRequests: env.osm.requests.length - klarnaBefore,
          });
        });
      });

    const samples = new Map<string, ColdRun[]>();
    const record = (id: string, run: ColdRun): void => void (samples.get(id) ?? samples.set(id, []).get(id)!).push(run);
    // One untimed run each: the OS page cache and DynamoDB Local's JIT, not our code.
    for (const { file, info } of built) await runOnce(file, info.id, eventFor[info.id]);
    const secretsManagerCallsBefore = secretsManager.calls();
    const addressUpdate = functionBundles.find(({ info }) => info.id === functions.addressUpdate.id);
    if (!addressUpdate) throw new Error('lib/routes.ts has no address update function');
    for (let round = 0; round < runs; round++) {
      record(floorRequestBundle.info.id, await runOnce(floorRequestBundle.file, floorRequestBundle.info.id, {}));
      record(floorPostBundle.info.id, await runOnce(floorPostBundle.file, floorPostBundle.info.id, {}));
      // Rotate the order each round so no function always follows the same neighbour.
      for (let i = 0; i < functionBundles.length; i++) {
        const { file, info } = functionBundles[(i + round) % functionBundles.length]!;
        record(floorBundle.info.id, await runOnce(floorBundle.file, floorBundle.info.id, {}));
        record(info.id, await runOnce(file, info.id, eventFor[info.id]));
      }
      record(floorBundle.info.id, await runOnce(floorBundle.file, floorBundle.info.id, {}));
      record(SECRETS_MANAGER_ID, await runOnce(addressUpdate.file, SECRETS_MANAGER_ID, eventFor[functions.addressUpdate.id], secretsManagerEnv));
      record(FLOOR_SOURCE_MAPS_ID, await runOnce(floorBundle.file, FLOOR_SOURCE_MAPS_ID, {}, withSourceMapsEnv(floorBundle.info.id)));
      record(SOURCE_MAPS_ID, await runOnce(addressUpdate.file, SOURCE_MAPS_ID, eventFor[functions.addressUpdate.id], withSourceMapsEnv(functions.addressUpdate.id)));
      if ((round + 1) % 5 === 0) options.progress?.(`  cold: ${round + 1}/${runs} rounds`);
    }

    const rowOf = (info: BundleInfo, id = info.id) => {
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
        wall: summarize(runsOf.map((r) => r.wallMs)),
        statuses: [...new Set(runsOf.map((r) => r.status))],
        dynamoDbRequests,
        klarnaRequestsPerRun: Math.max(0, ...runsOf.map((r) => r.klarnaRequests)),
      };
    };
    const floor = rowOf(floorBundle.info);
    const floorWithGetItem = rowOf(floorRequestBundle.info);
    const floorWithBarePost = rowOf(floorPostBundle.info);
    const rows = functionBundles.map(({ info }) => {
      const row = rowOf(info);
      return {
        ...row,
        ratioToFloor: ratio(row.answered.median, floor.answered.median),
        ratioToFloorWithGetItem: ratio(row.answered.median, floorWithGetItem.answered.median),
      };
    });
    for (const row of rows) {
      options.progress?.(
        `  cold ${row.id}: ${row.answered.median.toFixed(1)} ms (floor ${floor.answered.median.toFixed(1)}, ${row.ratioToFloor}×; floor+GetItem ${floorWithGetItem.answered.median.toFixed(1)}, ${row.ratioToFloorWithGetItem}×)`,
      );
    }
    const secretsManagerRow = rowOf(addressUpdate.info, SECRETS_MANAGER_ID);
    const withSecretsManager = {
      ...secretsManagerRow,
      ratioToFloor: ratio(secretsManagerRow.answered.median, floor.answered.median),
      ratioToFloorWithGetItem: ratio(secretsManagerRow.answered.median, floorWithGetItem.answered.median),
      secretsManagerRequests: Number(((secretsManager.calls() - secretsManagerCallsBefore) / runs).toFixed(2)),
    };
    options.progress?.(`  cold ${SECRETS_MANAGER_ID}: ${withSecretsManager.answered.median.toFixed(1)} ms (${withSecretsManager.ratioToFloor}×)`);
    const floorWithSourceMaps = rowOf(floorBundle.info, FLOOR_SOURCE_MAPS_ID);
    const sourceMapsRow = rowOf(addressUpdate.info, SOURCE_MAPS_ID);
    const withSourceMaps = {
      ...sourceMapsRow,
      ratioToFloor: ratio(sourceMapsRow.answered.median, floorWithSourceMaps.answered.median),
      ratioToFloorWithGetItem: ratio(sourceMapsRow.answered.median, floorWithGetItem.answered.median),
    };
    options.progress?.(`  cold ${SOURCE_MAPS_ID}: ${withSourceMaps.answered.median.toFixed(1)} ms (${withSourceMaps.ratioToFloor}× the floor with the same option)`);
    return { runs, orderLines: COLD_ORDER_LINES, floor, floorWithGetItem, floorWithBarePost, functions: rows, withSecretsManager, withSourceMaps, floorWithSourceMaps };
  } finally {
    await secretsManager.close();
    await rm(outdir, { recursive: true, force: true });
  }
};

