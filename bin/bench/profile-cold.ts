/**
 * Where a cold start's time goes: runs one function's bundle (as bin/bench/cold.ts builds it) in
 * fresh `node --cpu-prof` processes against the bench environment and sums the profiled time by
 * source (through the bundle's source map: npm package, or our file), plus Node's own and V8's
 * buckets. `npx tsx bin/bench/profile-cold.ts [FunctionId] [runs]`. A tool for deciding what to
 * optimise, not a measurement of the cold start itself (profiling slows every function call).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceMapConsumer, type RawSourceMap } from 'source-map';
import { functions } from '../../lib/routes.js';
import { bundle, lambdaEnvironment, localSecrets } from './cold.js';
import { BENCH_TOKEN, startBenchEnvironment } from './environment.js';
import { callbackEvent, lambdaContext, placementEvent } from './orders.js';
import { checkoutBodies } from './warm.js';

process.env.LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const id = process.argv[2] ?? functions.addressUpdate.id;
const runs = Number(process.argv[3] ?? 10);
const def = Object.values(functions).find((f) => f.id === id);
if (!def) throw new Error(`no function ${id}`);

type Node = { id: number; callFrame: { url: string; functionName: string; lineNumber: number; columnNumber: number }; children?: number[] };
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] };

const env = await startBenchEnvironment();
const dir = mkdtempSync(join(tmpdir(), 'klarna-profile-'));
try {
  const { file } = await bundle(id, def.entry, dir);
  const bodies = await checkoutBodies(10);
  const event =
    id === functions.osmPlacement.id
      ? placementEvent('credit-promotion-badge', 'en-US', 12900)
      : callbackEvent(id === functions.validation.id ? 'validation' : 'address_update', 'bench-profile-order', id === functions.validation.id ? bodies.validation : bodies.address_update, BENCH_TOKEN);
  const runner = join(dir, 'run.mjs');
  writeFileSync(
    runner,
    `const mod = await import(process.argv[2]); const context = ${JSON.stringify(lambdaContext(id))}; context.getRemainingTimeInMillis = () => 3000;
     const result = await mod.handler(${JSON.stringify(event)}, context); if (result.statusCode !== 200) { console.error(result); process.exit(1); } process.exit(0);`,
  );
  const childEnv = {
    // DynamoDB Local itself: the counting proxy lives in this process, which spawnSync blocks.
    ...lambdaEnvironment(env, id, env.dynamoDbEndpoint),
    ...localSecrets,
    // Profiling slows the process: no timeout of ours should turn a slow run into a refusal.
    DYNAMODB_REQUEST_TIMEOUT_MS: '5000',
  };
  const profiles = join(dir, 'profiles');
  for (let i = 0; i < runs + 1; i++) {
    const out = spawnSync(process.execPath, [...(i === 0 ? [] : ['--cpu-prof', '--cpu-prof-interval', '250', '--cpu-prof-dir', profiles]), runner, file], { cwd: dir, env: childEnv, encoding: 'utf8' });
    if (out.status !== 0) throw new Error(out.stderr);
  }
  const map = await new SourceMapConsumer(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as RawSourceMap);
  const bucketOf = (frame: Node['callFrame']): string => {
    if (frame.url === '') return frame.functionName || '(anonymous)';
    if (!frame.url.endsWith(`${id}.mjs`)) return frame.url.startsWith('node:') ? `node: ${frame.url.slice(5).split('/')[0]}` : frame.url.replace(/^.*\//, '');
    const source = map.originalPositionFor({ line: frame.lineNumber + 1, column: frame.columnNumber }).source ?? '(unmapped)';
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source)?.[1];
    return pkg ?? source.replace(/^(\.\.\/)+/, '');
  };
  const totals = new Map<string, number>();
  let all = 0;
  for (const name of readdirSync(profiles)) {
    const profile = JSON.parse(readFileSync(join(profiles, name), 'utf8')) as Profile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((sample, i) => {
      const node = byId.get(sample);
      const ms = (profile.timeDeltas[i] ?? 0) / 1000;
      all += ms;
      const bucket = node ? bucketOf(node.callFrame) : '?';
      totals.set(bucket, (totals.get(bucket) ?? 0) + ms);
    });
  }
  map.destroy();
  const rows = [...totals].sort((a, b) => b[1] - a[1]).slice(0, 30);
  process.stdout.write(`${id}: ${runs} profiled runs, ${(all / runs).toFixed(1)} ms profiled per run\n`);
  for (const [bucket, ms] of rows) process.stdout.write(`${(ms / runs).toFixed(2).padStart(8)} ms  ${bucket}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  await env.stop();
}
// Keep-alive sockets of the SDK clients would hold the process open.
process.exit(0);
