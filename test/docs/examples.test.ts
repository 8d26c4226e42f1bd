/**
 * The shell examples of the README and docs/getting-started.md, run as a reader runs them: against
 * `npm start` (the npm process itself), from the project folder, in bash. A line `# → text` in an
 * example says what the command before it prints; each must appear, in order. The same run checks
 * what a person sees in npm start's terminal (each function's log lines carry its own name and
 * request id; the printed events hold no personal data) and that SIGTERM to npm stops everything.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { codeBlocks, read } from './markdown.js';
import { isRunning, startNpmStart, untilServing, type NpmStart } from '../support/npm-start.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(180_000);

const documented = ['README.md', 'docs/getting-started.md'];
const DOC_PORT = '127.0.0.1:3000';

/** The blocks a reader runs against npm start: shell, and talking to the local API. */
const examples = documented.flatMap((file) =>
  codeBlocks(read(file))
    .filter((block) => ['sh', 'bash', 'shell'].includes(block.lang) && block.code.includes(DOC_PORT))
    .map((block) => ({ file, ...block })),
);

const expectations = (code: string): string[] =>
  code
    .split('\n')
    .map((line) => /^\s*# → (.*)$/.exec(line)?.[1]?.trim())
    .filter((text): text is string => text !== undefined);

let started: NpmStart;
let tree: number[] = [];

beforeAll(async () => {
  started = await startNpmStart();
  await untilServing(started);
  if (started.child.exitCode !== null) throw new Error(`npm start exited:\n${started.output()}`);
  tree = await started.tree();
});

afterAll(async () => {
  await started?.dispose();
});

it('finds the examples: the callbacks, the OSM miss and hit, the impression, the push', () => {
  const all = examples.map((e) => e.code).join('\n');
  for (const text of ['x-cache: miss', 'x-cache: hit', 'impression_token', '/push?token=']) expect(all).toContain(text);
});

describe.each(examples.map((e) => [`${e.file}:${e.line}`, e] as const))('the example at %s', (_where, example) => {
  it('runs and prints what it says', () => {
    const script = example.code.replaceAll(DOC_PORT, `127.0.0.1:${started.port}`);
    // stdin not a pipe: Node's pipes are sockets, and bash given a socket as stdin at SHLVL 1 takes
    // itself for an ssh session and reads /etc/bash.bashrc (Debian's fails under -u: PS1 unbound).
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: started.dir, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    let from = 0;
    for (const expected of expectations(example.code)) {
      const at = run.stdout.toLowerCase().indexOf(expected.toLowerCase(), from);
      if (at < 0) throw new Error(`"${expected}" not printed after position ${from}; it printed:\n${run.stdout}`);
      from = at + expected.length;
    }
  });
});

describe('what npm start prints', () => {
  const lines = (): Record<string, unknown>[] =>
    started
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });

  it('prints the push example’s two events, without the recipient’s name or address', async () => {
    await waitFor(() => started.output().includes('"Order Acknowledged"'), 1000);
    const output = started.output();
    expect(output).toContain('"Order Recorded" order example-order-1');
    for (const personal of ['Testperson-se', 'Approved', 'Stårgatan', 'Ankeborg']) expect(output).not.toContain(personal);
    expect(output).toContain('"given_name":"***"');
  });

  it('each function’s log lines carry its own name and request id', () => {
    const byRequest = new Map<string, Set<unknown>>();
    const perFunction = new Map<string, Set<unknown>>();
    for (const line of lines()) {
      if (typeof line.function_request_id !== 'string') continue;
      byRequest.set(line.function_request_id, (byRequest.get(line.function_request_id) ?? new Set()).add(line.function_name));
      perFunction.set(String(line.message), (perFunction.get(String(line.message)) ?? new Set()).add(line.function_name));
    }
    // One function per request id: no line borrows another invocation's context.
    expect([...byRequest.values()].filter((names) => names.size !== 1)).toEqual([]);
    // The lines each handler writes name that handler's function.
    expect(perFunction.get('osm request')).toEqual(new Set(['OsmPlacementFunction']));
    expect(perFunction.get('callback answered')).toEqual(new Set(['AddressUpdateFunction', 'ValidationFunction']));
    const pushLines = lines().filter((line) => ['order step', 'order request answered'].includes(String(line.message)) && line.step !== 'event_published');
    expect(pushLines.length).toBeGreaterThan(0);
    expect(new Set(pushLines.map((line) => line.function_name))).toEqual(new Set(['OrderPushFunction']));
    // Every line written while answering a request carries the context.
    const withoutContext = lines().filter((line) => ['osm request', 'callback answered'].includes(String(line.message)) && typeof line.function_request_id !== 'string');
    expect(withoutContext).toEqual([]);
  });
});

describe('SIGTERM to the npm process', () => {
  it('stops npm, tsx, the service and DynamoDB Local, and removes .local/', async () => {
    expect(tree.length).toBeGreaterThanOrEqual(4); // npm, tsx, the service, java
    expect(existsSync(join(started.dir, '.local/dynamodb.json'))).toBe(true);
    started.child.kill('SIGTERM');
    expect((await started.exited).code).toBe(0);
    await waitFor(async () => (await Promise.all(tree.map(isRunning))).every((running) => !running), 1000);
    expect(existsSync(join(started.dir, '.local'))).toBe(false);
  });
});
