/**
 * `npm run bench`: how close the callbacks and OSM come to the physical floor on this machine.
 * A script, not a test: nothing is asserted; it prints a table and writes bench/results.json.
 *
 *   1. warm    in-process callback overhead vs JSON.parse + JSON.stringify of the same request
 *   2. cold    bundle sizes, and a fresh `node` loading a bundle and answering one invocation vs a
 *              bundle that only constructs the DynamoDB client
 *   3. trips   DynamoDB requests per callback (counted by a proxy), OSM requests to Klarna on a hit,
 *              OSM hit latency vs a bare GetItem
 *   4. rps     requests/second of the local server for address_update with a 10-line order
 *   5. hostile the largest order with every text at its maximum: ordinary vs hostile text
 *   6. push    requests to Klarna and DynamoDB per push, and its latency, first and repeated
 *
 * Everything runs on loopback against DynamoDB Local (started here, stopped at the end).
 * Settings: BENCH_PARTS (comma-separated subset of warm,cold,trips,rps,hostile,push; default all),
 * BENCH_COLD_RUNS (30), BENCH_COLD_FUNCTIONS (comma-separated function ids: only those, beside every
 * floor), BENCH_SECRETS_LATENCY_MS (Secrets Manager's round trip in the cold part's deployed rows,
 * default 0: loopback), BENCH_RESULTS (bench/results.json; "-" writes nothing).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

// Before any handler module loads (they read these once): no log output in the measurements
// (Powertools at SILENT still builds and drops each line), the production rules cache time
// stretched so "rules already cached" holds for the whole warm run.
process.env.LOG_LEVEL = 'SILENT';
// Nor the metrics' embedded-format lines (one per callback, OSM request and order step) in the
// in-process parts; the cold part's fresh processes write theirs to a pipe, as Lambda does.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.RULES_CACHE_SECONDS = '3600';
for (const name of [
  'DYNAMODB_ENDPOINT',
  'OSM_CREDENTIALS_SECRET_ARN',
  'KCO_CALLBACK_TOKENS_SECRET_ARN',
  'OSM_USERNAME',
  'OSM_PASSWORD',
  'KCO_API_BASE_URL',
  'KCO_API_KEY',
  'KCO_API_CREDENTIALS_SECRET_ARN',
]) {
  delete process.env[name];
}

const { intEnv, optionalEnv } = await import('../functions/shared/config.js');
const { startBenchEnvironment } = await import('./bench/environment.js');
const { machine, formatReport, targets } = await import('./bench/report.js');

const allParts = ['warm', 'cold', 'trips', 'rps', 'hostile', 'push'] as const;
type Part = (typeof allParts)[number];
const parts = new Set<Part>(
  (optionalEnv('BENCH_PARTS')?.split(',').map((p) => p.trim()) ?? [...allParts]).filter((p): p is Part =>
    (allParts as readonly string[]).includes(p),
  ),
);
const coldRuns = intEnv('BENCH_COLD_RUNS', 30, { min: 3, max: 200 });
const resultsSetting = optionalEnv('BENCH_RESULTS');
const resultsFile = resultsSetting === '-' ? undefined : resolve(resultsSetting ?? 'bench/results.json');
const progress = (line: string): void => void process.stdout.write(`${line}\n`);

const started = Date.now();
progress('Starting DynamoDB Local, the counting proxy, the OSM stand-in and the local server…');
const env = await startBenchEnvironment();
const results: Record<string, unknown> = { machine: machine(), settings: { parts: [...parts], coldRuns, logLevel: 'SILENT', rulesCacheSeconds: 3600 } };
try {
  if (parts.has('warm')) {
    progress('1. Warm callback overhead');
    const { runWarm } = await import('./bench/warm.js');
    results.warm = await runWarm({ progress });
  }
  if (parts.has('cold')) {
    progress('2. Cold start');
    const { runCold } = await import('./bench/cold.js');
    const only = optionalEnv('BENCH_COLD_FUNCTIONS')?.split(',').map((id) => id.trim());
    const secretsLatencyMs = intEnv('BENCH_SECRETS_LATENCY_MS', 0, { min: 0, max: 1000 });
    results.cold = await runCold(env, { runs: coldRuns, progress, secretsLatencyMs, ...(only ? { only } : {}) });
  }
  if (parts.has('trips')) {
    progress('3. Round trips');
    const { runRoundTrips } = await import('./bench/round-trips.js');
    results.roundTrips = await runRoundTrips(env, { progress });
  }
  if (parts.has('rps')) {
    progress('4. Local throughput');
    const { runThroughput } = await import('./bench/throughput.js');
    results.throughput = await runThroughput(env, { progress });
  }
  if (parts.has('hostile')) {
    progress('5. Hostile text');
    const { runHostile } = await import('./bench/hostile.js');
    results.hostile = await runHostile({ progress });
  }
  if (parts.has('push')) {
    progress('6. Pushes');
    const { runPush } = await import('./bench/push.js');
    results.push = await runPush(env, { progress });
  }
} finally {
  await env.stop();
}
results.durationSeconds = Math.round((Date.now() - started) / 1000);
results.targets = targets(results);

process.stdout.write(`\n${formatReport(results)}\n`);
if (resultsFile !== undefined) {
  await mkdir(dirname(resultsFile), { recursive: true });
  await writeFile(resultsFile, `${JSON.stringify(results, null, 2)}\n`, 'utf8');
  progress(`Figures written to ${resultsFile}`);
}
// Keep-alive sockets of the SDK clients would hold the process open.
process.exit(0);
