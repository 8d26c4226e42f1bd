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

/** Polls until `condition` holds, at most `attempts` × 100 ms; says whether it did. */
const becomes = async (condition: () => Promise<boolean>, attempts: number): Promise<boolean> => {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (await condition()) return true;
    await pause(100);
  }
  return false;
};

type Started = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

const startNpmStart = (dynamoDbPort: number): Started => {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', DYNAMODB_PORT: String(dynamoDbPort), LOG_LEVEL: 'SILENT' };
  delete env.DYNAMODB_ENDPOINT;
  // As `npm start` runs it: the tsx command, which passes the signals it gets on to the script.
  const child = spawn(join(root, 'node_modules/.bin/tsx'), [join(root, 'bin/local.ts')], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, output: () => output, exited };
};

describe('a tool that takes no signals itself (the bench, the load test, a test worker)', () => {
  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('dies of %s as before, and DynamoDB Local with it', async (signal) => {
    const port = await freePort();
    const script = join(dir, `tool-${signal}.mts`);
    await writeFile(
      script,
      `import { startDynamoDb } from ${JSON.stringify(join(root, 'bin/local/dynamodb-local.ts'))};\n` +
        `await startDynamoDb({ port: ${port} });\nprocess.stdout.write('ready\\n');\nsetInterval(() => undefined, 1000);\n`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.DYNAMODB_ENDPOINT;
    // node with tsx's loader, not the tsx command: the signal goes straight to the tool.
    const child = spawn(process.execPath, ['--import', join(root, 'node_modules/tsx/dist/loader.mjs'), script], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((done) => child.once('exit', (_code, killedBy) => done(killedBy)));
    try {
      expect(await becomes(async () => output.includes('ready'), 600)).toBe(true);
      expect(await listening(port)).toBe(true);
      child.kill(signal);
      expect(await exited).toBe(signal);
      await pause(1000);
      expect(await listening(port)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('npm start, stopped by a signal', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s while it is still starting stops DynamoDB Local too', async (signal) => {
    const port = await freePort();
    const started = startNpmStart(port);
    try {
      // DynamoDB Local answers; the tables, the rules and the server are still to come.
      expect(await becomes(() => listening(port), 300)).toBe(true);
      expect(started.output()).not.toContain('Ctrl-C stops');
      started.child.kill(signal);
      await started.exited;
      // Left behind, it would go on listening: give a stray one time to show.
      await pause(1000);
      expect({ stillListening: await listening(port), output: started.output() }).toEqual({ stillListening: false, output: expect.any(String) });
    } finally {
      started.child.kill('SIGKILL');
    }
  });

  it('a second signal while it stops exits at once, and DynamoDB Local goes with it', async () => {
    const port = await freePort();
    const started = startNpmStart(port);
    try {
      expect(await becomes(() => listening(port), 300)).toBe(true);
      started.child.kill('SIGTERM');
      await becomes(async () => started.output().includes('SIGTERM: stopping'), 100);
      started.child.kill('SIGTERM');
      expect(await started.exited).toBe(1);
      expect(started.output()).toContain('SIGTERM again: exiting now.');
      await pause(1000);
      expect(await listening(port)).toBe(false);
    } finally {
      started.child.kill('SIGKILL');
    }
  });

  it('SIGTERM once it serves stops everything and exits 0', async () => {
    const port = await freePort();
    const started = startNpmStart(port);
    try {
      expect(await becomes(async () => started.output().includes('Ctrl-C stops'), 600)).toBe(true);
      expect(await listening(port)).toBe(true);
      started.child.kill('SIGTERM');
      expect(await started.exited).toBe(0);
      expect(started.output()).toContain('SIGTERM: stopping');
      expect(await listening(port)).toBe(false);
    } finally {
      started.child.kill('SIGKILL');
    }
  });
});
