/**
 * `npm run load`: drive the KCO callbacks on loopback with mixed traffic and report throughput,
 * latency percentiles and errors; the figures also go to bench/load-results.json.
 *
 * Starts the local service in-process (DynamoDB Local, tables, example rules) unless LOAD_URL
 * points at a running one (loopback only). Settings: LOAD_REQUESTS (5000), LOAD_SECONDS (30),
 * LOAD_CONCURRENCY (16), LOAD_ORDERS (100), LOAD_SEED (1), LOAD_TOKEN (for LOAD_URL),
 * LOAD_RESULTS (bench/load-results.json; "-" writes nothing). Exits 1 when any callback erred.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

// One log line per callback would drown the table: warnings and errors only, unless LOG_LEVEL
// says otherwise.
process.env.LOG_LEVEL ??= 'WARN';

// Imported after the environment is set: the logger reads LOG_LEVEL when it is created.
const { intEnv, optionalEnv } = await import('../functions/shared/config.js');
const { formatLoadReport, loopbackUrl, runLoad } = await import('./local/load.js');

const fail = (message: string): never => {
  process.stderr.write(`\n${message}\n`);
  process.exit(1);
};

let options: Parameters<typeof runLoad>[0] = { requests: 5000, seconds: 30, concurrency: 16, orders: 100, seed: 1 };
let resultsFile: string | undefined = resolve('bench', 'load-results.json');
try {
  const url = optionalEnv('LOAD_URL');
  if (url !== undefined) loopbackUrl(url);
  const token = optionalEnv('LOAD_TOKEN');
  options = {
    ...(url !== undefined ? { url } : {}),
    ...(token !== undefined ? { token } : {}),
    requests: intEnv('LOAD_REQUESTS', 5000, { min: 1, max: 10_000_000 }),
    seconds: intEnv('LOAD_SECONDS', 30, { min: 1, max: 3600 }),
    concurrency: intEnv('LOAD_CONCURRENCY', 16, { min: 1, max: 1024 }),
    orders: intEnv('LOAD_ORDERS', 100, { min: 1, max: 100_000 }),
    seed: intEnv('LOAD_SEED', 1),
    progress: (line: string) => process.stdout.write(`${line}\n`),
  };
  const results = optionalEnv('LOAD_RESULTS');
  resultsFile = results === '-' ? undefined : resolve(results ?? resultsFile);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

const report = await runLoad(options).catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
process.stdout.write(`\n${formatLoadReport(report)}\n`);
if (resultsFile !== undefined) {
  await mkdir(dirname(resultsFile), { recursive: true });
  await writeFile(resultsFile, `${JSON.stringify(report, null, 2)}\n`, 'utf8');
  process.stdout.write(`\nFigures written to ${resultsFile}\n`);
}
process.exit(report.errors.total > 0 ? 1 : 0);
