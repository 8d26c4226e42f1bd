/**
 * `npm start` stopped as a person stops it: Ctrl-C in its terminal (SIGINT to the whole
 * foreground group) or a signal to the npm process alone (`kill -INT`, a process manager). Either
 * way nothing it started may be left: not tsx, not the service, not DynamoDB Local's JVM, and no
 * `.local/` state in the project. (SIGTERM to npm: test/docs/examples.test.ts, after the examples.)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning, startNpmStart, untilServing, type NpmStart } from '../support/npm-start.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(120_000);

let started: NpmStart | undefined;
afterEach(async () => {
  await started?.dispose();
  started = undefined;
});

const allGone = async (pids: readonly number[]): Promise<boolean> => (await Promise.all(pids.map(isRunning))).every((running) => !running);

it('SIGINT to the npm process stops npm, tsx, the service and DynamoDB Local, and removes .local/', async () => {
  started = await startNpmStart({ LOG_LEVEL: 'SILENT' });
  await untilServing(started);
  const tree = await started.tree();
  expect(tree.length).toBeGreaterThanOrEqual(4); // npm, tsx, the service, java
  expect(existsSync(join(started.dir, '.local/dynamodb.json'))).toBe(true);
  started.child.kill('SIGINT');
  const exit = await started.exited;
  // npm reports its script's end; what matters is that nothing it started lives on.
  expect(exit.code === 0 || exit.signal === 'SIGINT' || exit.code === 130).toBe(true);
  await waitFor(() => allGone(tree), 1000);
  expect(started.output()).toContain('SIGINT: stopping');
  expect(existsSync(join(started.dir, '.local'))).toBe(false);
});
