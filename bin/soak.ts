/**
 * `npm run soak` (node --expose-gc --import tsx bin/soak.ts): 100 000 KCO handler invocations in
 * one process, heap sampled after a forced GC every 10 000; fails (exit 1) when the heap grows by
 * more than the bound from the second sample to the last, or when any invocation answered wrongly.
 *
 * Settings: SOAK_INVOCATIONS (100000), SOAK_SAMPLE_EVERY (10000), SOAK_ORDERS (200), SOAK_SEED (1),
 * SOAK_MAX_GROWTH_MB (20), SOAK_LOG_LEVEL (WARN; INFO formats the per-call log line too),
 * SOAK_RESULTS (bench/soak-results.json; "-" writes nothing), SOAK_JSON=1 (print the report as one
 * `SOAK_REPORT {…}` line instead of the table, for the test that runs this), and for that test's
 * self-check only SOAK_SELF_TEST_LEAK_BYTES (leak this much per invocation on purpose).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

process.env.LOG_LEVEL ??= 'WARN';

const { intEnv, optionalEnv } = await import('../functions/shared/config.js');
const { formatSoakReport, runSoak } = await import('./local/soak.js');

const fail = (message: string): never => {
  process.stderr.write(`\n${message}\n`);
  process.exit(1);
};

const levels = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;
type Level = (typeof levels)[number];

const json = optionalEnv('SOAK_JSON') === '1';
let options: Parameters<typeof runSoak>[0] = { invocations: 100_000, sampleEvery: 10_000, orders: 200, seed: 1, maxGrowthBytes: 20 * 1024 * 1024 };
let resultsFile: string | undefined = resolve('bench', 'soak-results.json');
try {
  const level = (optionalEnv('SOAK_LOG_LEVEL') ?? 'WARN').toUpperCase();
  if (!(levels as readonly string[]).includes(level)) throw new Error(`SOAK_LOG_LEVEL must be one of ${levels.join(', ')}`);
  options = {
    invocations: intEnv('SOAK_INVOCATIONS', 100_000, { min: 1, max: 100_000_000 }),
    sampleEvery: intEnv('SOAK_SAMPLE_EVERY', 10_000, { min: 1 }),
    orders: intEnv('SOAK_ORDERS', 200, { min: 1, max: 100_000 }),
    seed: intEnv('SOAK_SEED', 1),
    maxGrowthBytes: intEnv('SOAK_MAX_GROWTH_MB', 20, { min: 0, max: 4096 }) * 1024 * 1024,
    logLevel: level as Level,
    leakBytesPerInvocation: intEnv('SOAK_SELF_TEST_LEAK_BYTES', 0, { min: 0, max: 1_000_000 }),
    ...(json ? {} : { progress: (line: string) => process.stdout.write(`${line}\n`) }),
  };
  const results = optionalEnv('SOAK_RESULTS');
  resultsFile = results === '-' ? undefined : resolve(results ?? resultsFile);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

const report = await runSoak(options).catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
if (json) process.stdout.write(`SOAK_REPORT ${JSON.stringify(report)}\n`);
else process.stdout.write(`\n${formatSoakReport(report)}\n`);
if (resultsFile !== undefined) {
  await mkdir(dirname(resultsFile), { recursive: true });
  await writeFile(resultsFile, `${JSON.stringify(report, null, 2)}\n`, 'utf8');
  if (!json) process.stdout.write(`\nFigures written to ${resultsFile}\n`);
}
process.exit(report.ok ? 0 : 1);
