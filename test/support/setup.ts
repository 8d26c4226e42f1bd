// Set up once per test file, before it runs.
import fc from 'fast-check';

// Tests read answers, not log lines: keep the structured logs quiet unless asked for
// (TEST_LOGS=1). Tests that assert on logs set their own level.
if (process.env.TEST_LOGS !== '1') {
  process.env.LOG_LEVEL ??= 'SILENT';
  // The metric lines (CloudWatch embedded metric format) too; test/unit/metrics.test.ts reads them.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
}

// Property tests explore new inputs on every local run; CI replays one fixed seed so that a red
// build is reproducible and never a coin toss. FC_SEED=<n> replays any run (fast-check prints it).
const seed = process.env.FC_SEED ?? (process.env.CI ? '20261123' : undefined);
if (seed !== undefined) fc.configureGlobal({ seed: Number(seed) });
