/**
 * `npm start` as the process a developer (or a process manager) runs and stops: whenever SIGTERM
 * or SIGINT comes, DynamoDB Local, a Java process of its own, must stop with it. A DynamoDB
 * Local left behind keeps its port and a JVM's memory until someone finds it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../bin/local/dynamodb-local.js';
import { waitFor } from '../support/wait-for.js';

// DynamoDB Local and the rest of startLocal: on a busy two-core machine most of 20 s.
jest.setTimeout(90_000);

const root = resolve(__dirname, '../..');
let dir: string;

beforeAll(async () => {
  // Its own working folder: the state file (.local/dynamodb.json) of a developer's `npm start`
  // in the project stays untouched.
  dir = await mkdtemp(join(tmpdir(), 'local-process-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Does anything accept a TCP connection on 127.0.0.1:port? */
const listening = (port: number): Promise<boolean> =>
  new Promise((resolveProbe) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolveProbe(true);
    });
    socket.once('error', () => resolveProbe(false));
  });

const pause = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** Gone for good: a DynamoDB Local left behind would go on listening, so give a stray one time to show. */
const closedForGood = async (port: number): Promise<boolean> => {
  await pause(1000);
  return !(await listening(port));
};

type Watched = { child: ChildProcess; output: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> };

/** Processes a test started; whatever a test leaves running is killed after it. */
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

const spawnWatched = (command: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Watched => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  delete env.DYNAMODB_ENDPOINT;
  const child = spawn(command, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  return { child, output: () => output, exited };
};

// As `npm start` runs it: the tsx command, which passes the signals it gets on to the script.
const startNpmStart = (dynamoDbPort: number): Watched =>
  spawnWatched(join(root, 'node_modules/.bin/tsx'), [join(root, 'bin/local.ts')], { PORT: '0', DYNAMODB_PORT: String(dynamoDbPort), LOG_LEVEL: 'SILENT' });

describe('a tool that takes no signals itself (the bench, the load test, a test worker)', () => {
  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('dies of %s as before, and DynamoDB Local with it', async (signal) => {
    const port = await freePort();
    const script = join(dir, `tool-${signal}.mts`);
    await writeFile(
      script,
      `import { startDynamoDb } from ${JSON.stringify(join(root, 'bin/local/dynamodb-local.ts'))};\n` +
        `await startDynamoDb({ port: ${port} });\nprocess.stdout.write('ready\\n');\nsetInterval(() => undefined, 1000);\n`,
    );
    // node with tsx's loader, not the tsx command: the signal goes straight to the tool.
    const tool = spawnWatched(process.execPath, ['--import', join(root, 'node_modules/tsx/dist/loader.mjs'), script]);
    await waitFor(() => tool.output().includes('ready'), 6000);
    expect(await listening(port)).toBe(true);
    tool.child.kill(signal);
    expect((await tool.exited).signal).toBe(signal);
    expect(await closedForGood(port)).toBe(true);
  });
});

describe('npm start, stopped by a signal', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s while it is still starting stops DynamoDB Local too', async (signal) => {
    const port = await freePort();
    const started = startNpmStart(port);
    // DynamoDB Local answers; the tables, the rules and the server are still to come.
    await waitFor(() => listening(port), 3000);
    expect(started.output()).not.toContain('Ctrl-C stops');
    started.child.kill(signal);
    await started.exited;
    expect(await closedForGood(port)).toBe(true);
  });

  it('a second signal while it stops exits at once, and DynamoDB Local goes with it', async () => {
    const port = await freePort();
    const started = startNpmStart(port);
    await waitFor(() => listening(port), 3000);
    started.child.kill('SIGTERM');
    await waitFor(() => started.output().includes('SIGTERM: stopping'), 1000);
    started.child.kill('SIGTERM');
    expect((await started.exited).code).toBe(1);
    expect(started.output()).toContain('SIGTERM again: exiting now.');
    expect(await closedForGood(port)).toBe(true);
  });

  it('SIGTERM once it serves stops everything and exits 0', async () => {
    const port = await freePort();
    const started = startNpmStart(port);
    await waitFor(() => started.output().includes('Ctrl-C stops'), 6000);
    expect(await listening(port)).toBe(true);
    started.child.kill('SIGTERM');
    expect((await started.exited).code).toBe(0);
    expect(started.output()).toContain('SIGTERM: stopping');
    expect(await listening(port)).toBe(false);
  });
});

describe('npm start checks the rules as they are written', () => {
  it('prints the rejection of an invalid document written directly to the local table, with the field and the way back', async () => {
    const port = await freePort();
    const started = startNpmStart(port);
    await waitFor(() => started.output().includes('Ctrl-C stops'), 6000);
    // Written as the AWS console would, past the rules tool: min_order_amount as a string.
    const { DynamoDBClient, PutItemCommand } = await import('@aws-sdk/client-dynamodb');
    const client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: 'eu-north-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      await client.send(new PutItemCommand({ TableName: 'klarna-local-rules', Item: { scope: { S: 'default' }, min_order_amount: { S: '100' } } }));
    } finally {
      client.destroy();
    }
    await waitFor(() => started.output().includes('  Undo: npm run rules -- rollback default'), 3000);
    expect(started.output()).toContain(
      'event klarna-serverless "Rules Rejected" scope default version 2: invalid, 1 problem(s): callbacks for this scope fail closed until it is fixed\n' +
        '  min_order_amount: expected number\n',
    );
    // Stopped once it is idle again: tsx gives a child whose event loop is busy 30 ms to take a
    // signal before it kills it outright. How npm start stops is the subject of the tests above.
    await pause(1000);
    started.child.kill('SIGTERM');
    await started.exited;
  });
});
