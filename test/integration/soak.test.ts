/**
 * The soak on a smaller count: 20 000 KCO handler invocations, heap sampled after a forced GC.
 * Jest has no `global.gc`, and its own module registry churns the heap, so the soak runs where
 * `npm run soak` runs it: a child `node --expose-gc --import tsx bin/soak.ts`, whose JSON report
 * this test reads. A second, short run leaks on purpose to show the soak would catch a leak.
 */
import { spawn } from 'node:child_process';
import type { SoakReport } from '../../bin/local/soak.js';

jest.setTimeout(60_000);

const MB = 1024 * 1024;

const soak = (env: Record<string, string>): Promise<{ code: number | null; report: SoakReport; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'bin/soak.ts'], {
      cwd: process.cwd(),
      env: { ...process.env, SOAK_JSON: '1', SOAK_RESULTS: '-', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('SOAK_REPORT '));
      if (!line) return reject(new Error(`no SOAK_REPORT line (exit ${code}):\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`));
      resolve({ code, report: JSON.parse(line.slice('SOAK_REPORT '.length)) as SoakReport, stderr });
    });
  });

describe('soak: 20 000 invocations in one warm container', () => {
  let result: Awaited<ReturnType<typeof soak>>;

  beforeAll(async () => {
    result = await soak({ SOAK_INVOCATIONS: '20000', SOAK_SAMPLE_EVERY: '2000', SOAK_ORDERS: '100', SOAK_MAX_GROWTH_MB: '5' });
  });

  it('answers every invocation as expected and exits 0', () => {
    expect(result.report.invocations).toBe(20_000);
    expect(result.report.errors).toEqual({ total: 0, samples: [] });
    expect(result.report.ok).toBe(true);
    expect(result.code).toBe(0);
  });

  it('serves the rules from the warm cache: no DynamoDB round trip during the measured run', () => {
    expect(result.report.dynamoDbReads).toBe(0);
  });

  it('keeps the heap after GC level: less than 5 MB growth from the second sample to the last', () => {
    const { samples, growthBytes } = result.report;
    expect(samples.map((s) => s.invocations)).toEqual([2000, 4000, 6000, 8000, 10_000, 12_000, 14_000, 16_000, 18_000, 20_000]);
    expect(growthBytes).toBe(samples[9]!.heapUsed - samples[1]!.heapUsed);
    expect(growthBytes).toBeLessThan(5 * MB);
    // No sample strays far from the warm-up baseline either (a leak that GC later frees is still a leak).
    for (const sample of samples) expect(sample.heapUsed - result.report.baseline.heapUsed).toBeLessThan(5 * MB);
  });
});

describe('the soak itself', () => {
  it('fails (exit 1) when something keeps 2 KB per invocation alive', async () => {
    const leaky = await soak({ SOAK_INVOCATIONS: '3000', SOAK_SAMPLE_EVERY: '500', SOAK_ORDERS: '20', SOAK_MAX_GROWTH_MB: '2', SOAK_SELF_TEST_LEAK_BYTES: '2048' });
    // 2000 invocations between the second and the last sample × 2 KB ≈ 4 MB, over the 2 MB bound.
    expect(leaky.report.errors.total).toBe(0);
    expect(leaky.report.growthBytes).toBeGreaterThan(3 * MB);
    expect(leaky.report.ok).toBe(false);
    expect(leaky.code).toBe(1);
  });
});
