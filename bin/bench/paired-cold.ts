/**
 * What one piece of a cold start costs, measured in pairs: `npx tsx bin/bench/paired-cold.ts
 * [FunctionId] [rounds]` (a callback or OsmPlacementFunction; default AddressUpdateFunction, 60).
 *
 * The machine's speed moves by more than the pieces weigh, so medians of separate runs cannot
 * tell a 3 ms difference. Here each round runs every subject once, in a rotated order, in fresh
 * processes (bin/bench/cold.ts's child, the function configured as `npm start` configures it);
 * each subject's figure is the median of its per-round differences from the function as the
 * stack builds it, with a 95 % bootstrap interval. Subjects:
 *   - the floor + one GetItem, and the floor + the libraries (bin/bench/cold-floor-*.ts);
 *   - the function with Powertools Logger, Metrics or both replaced by the hand-written
 *     stand-ins of bin/bench/stand-ins (what dropping the library would buy);
 *   - any bundle named in PAIRED_BUNDLES="name=/abs/file.mjs;…" (an A/B of a change: build the
 *     other tree's bundle with the stack's esbuild options and name it here).
 * Prints a table; asserts nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Plugin } from 'esbuild';
import { functions } from '../../lib/routes.js';
import { bundle, lambdaEnvironment, localSecrets, runFresh, writeRunner, type FreshRun } from './cold.js';
import { BENCH_TOKEN, startBenchEnvironment } from './environment.js';
import { callbackEvent, placementEvent } from './orders.js';
import { checkoutBodies } from './warm.js';

const id = process.argv[2] ?? functions.addressUpdate.id;
const rounds = Number(process.argv[3] ?? 60);
const callbacks = {
  [functions.addressUpdate.id]: 'address_update',
  [functions.countryChange.id]: 'country_change',
  [functions.shippingOptionUpdate.id]: 'shipping_option_update',
  [functions.validation.id]: 'validation',
} as const;
const definition = Object.values(functions).find((f) => f.id === id);
if (!definition || !(id in callbacks || id === functions.osmPlacement.id)) {
  throw new Error(`${id}: give a callback or ${functions.osmPlacement.id} (the functions held against the floor + one GetItem)`);
}

/** Resolves the named Powertools modules to the stand-ins instead. */
const standIns = (...modules: ('logger' | 'metrics')[]): Plugin => ({
  name: 'powertools-stand-ins',
  setup(build) {
    build.onResolve({ filter: /^@aws-lambda-powertools\/(logger|metrics)(\/middleware)?$/ }, (args) => {
      const [, module, subpath] = /^@aws-lambda-powertools\/(logger|metrics)(\/middleware)?$/.exec(args.path) ?? [];
      if (!modules.includes(module as 'logger' | 'metrics')) return undefined;
      return { path: resolve(`bin/bench/stand-ins/powertools-${module}${subpath ? '-middleware' : ''}.ts`) };
    });
  },
});

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** 95 % interval of the median by bootstrap, with a fixed seed so a rerun on the same data agrees. */
const interval = (values: readonly number[]): [number, number] => {
  let seed = 0x2f6b1d;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const medians = Array.from({ length: 2000 }, () => median(values.map(() => values[Math.floor(random() * values.length)]!))).sort((a, b) => a - b);
  return [medians[50]!, medians[1949]!];
};

const env = await startBenchEnvironment();
const dir = await mkdtemp(join(tmpdir(), 'klarna-paired-'));
try {
  const runner = await writeRunner(dir);
  const bodies = await checkoutBodies(10);
  const callback = callbacks[id];
  const addressUpdate = callbackEvent('address_update', 'bench-cold-order', bodies.address_update, BENCH_TOKEN);
  const event =
    callback === undefined
      ? placementEvent('credit-promotion-badge', 'en-US', 12900)
      : callbackEvent(callback, 'bench-cold-order', callback === 'address_update' || callback === 'country_change' ? bodies.address_update : bodies[callback], BENCH_TOKEN);
  type Subject = { name: string; file: string; event: unknown };
  const built = async (name: string, entry: string, plugins: Plugin[] = [], subjectEvent: unknown = event): Promise<Subject> => ({
    name,
    file: (await bundle(name, entry, dir, plugins)).file,
    event: subjectEvent,
  });
  const subjects: Subject[] = [
    await built(id, definition.entry),
    // The floors answer as cold.ts asks them: the bare GetItem takes no event, the libraries' floor a callback's.
    await built('floor + one GetItem', 'bin/bench/cold-floor-request.ts', [], {}),
    await built('floor + the libraries', 'bin/bench/cold-floor-libraries.ts', [], addressUpdate),
    await built(`${id} without Powertools Logger`, definition.entry, [standIns('logger')]),
    await built(`${id} without Powertools Metrics`, definition.entry, [standIns('metrics')]),
    await built(`${id} without either`, definition.entry, [standIns('logger', 'metrics')]),
    ...(process.env.PAIRED_BUNDLES ?? '')
      .split(';')
      .filter((entry) => entry.includes('='))
      .map((entry) => ({ name: entry.slice(0, entry.indexOf('=')), file: entry.slice(entry.indexOf('=') + 1), event })),
  ];
  const childEnv = { ...lambdaEnvironment(env, id, env.proxy.url), ...localSecrets };
  const samples = new Map<string, FreshRun[]>(subjects.map(({ name }) => [name, []]));
  const runOnce = async (subject: Subject): Promise<FreshRun> => {
    const run = await runFresh(runner, subject.file, childEnv, subject.event, subject.name);
    if (run.status !== 200) throw new Error(`${subject.name} answered ${run.status}`);
    return run;
  };
  // One untimed run each: the OS page cache and DynamoDB Local's JIT, not our code.
  for (const subject of subjects) await runOnce(subject);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < subjects.length; i++) {
      const subject = subjects[(i + round) % subjects.length]!;
      samples.get(subject.name)!.push(await runOnce(subject));
    }
    if ((round + 1) % 10 === 0) process.stderr.write(`  ${round + 1}/${rounds} rounds\n`);
  }
  const reference = samples.get(id)!;
  const ms = (value: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
  process.stdout.write(`\n${id}, ${rounds} rounds, ${new Date().toISOString()}; differences from ${id} as the stack builds it (median of per-round differences, 95 % interval)\n\n`);
  process.stdout.write('| subject | answered (median) | loaded (median) | answered − function | loaded − function |\n|---|---|---|---|---|\n');
  for (const { name } of subjects) {
    const runs = samples.get(name)!;
    const answered = runs.map((run, round) => run.answered - reference[round]!.answered);
    const loaded = runs.map((run, round) => run.loaded - reference[round]!.loaded);
    const [low, high] = interval(answered);
    const cells = name === id ? ['—', '—'] : [`${ms(median(answered))} ms [${ms(low)}, ${ms(high)}]`, `${ms(median(loaded))} ms`];
    process.stdout.write(`| ${name} | ${median(runs.map((r) => r.answered)).toFixed(1)} ms | ${median(runs.map((r) => r.loaded)).toFixed(1)} ms | ${cells.join(' | ')} |\n`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
  await env.stop();
}
// Keep-alive sockets of the SDK clients would hold the process open.
process.exit(0);
