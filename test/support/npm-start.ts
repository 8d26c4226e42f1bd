/**
 * `npm start` as a person runs it: the npm process itself, from a project folder of its own (a
 * sandbox whose entries link to this checkout), so that its `.local/` state is the test's and a
 * developer's own `npm start` is left alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../bin/local/dynamodb-local.js';
import { waitFor } from './wait-for.js';

export const projectRoot = resolve(__dirname, '../..');

/** What `npm start` needs from the project, linked into a fresh folder. */
const linked = ['package.json', 'tsconfig.json', 'node_modules', 'bin', 'lib', 'functions', 'test'];

export type NpmStart = {
  readonly dir: string;
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** npm's process and every process under it (tsx, the service, DynamoDB Local's java), while running. */
  tree(): Promise<number[]>;
  /** Kill whatever is left (after a failed test) and remove the sandbox. */
  dispose(): Promise<void>;
};

/** Parent of each running process, from /proc (Linux). */
const parents = async (): Promise<Map<number, number>> => {
  const map = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      map.set(Number(entry), ppid);
    } catch {
      // Gone in the meantime.
    }
  }
  return map;
};

export const descendants = async (root: number): Promise<number[]> => {
  const map = await parents();
  const found = [root];
  for (let i = 0; i < found.length; i += 1) {
    for (const [pid, ppid] of map) if (ppid === found[i]) found.push(pid);
  }
  return found;
};

/** Running, not a zombie waiting to be reaped. */
export const isRunning = async (pid: number): Promise<boolean> => {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

export const startNpmStart = async (env: NodeJS.ProcessEnv = {}): Promise<NpmStart> => {
  const dir = await mkdtemp(join(tmpdir(), 'npm-start-'));
  for (const name of linked) await symlink(join(projectRoot, name), join(dir, name));
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), LOG_LEVEL: 'INFO', ...env };
  // npm start's own choices, not the test runner's.
  for (const name of ['DYNAMODB_ENDPOINT', 'POWERTOOLS_METRICS_DISABLED', 'AWS_LAMBDA_MAX_CONCURRENCY', 'OSM_BASE_URL', 'KCO_API_BASE_URL', 'KCO_CALLBACK_TOKENS']) {
    if (!(name in env)) delete childEnv[name];
  }
  const child = spawn('npm', ['start'], { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  let seen: number[] = [];
  const started: NpmStart = {
    dir,
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    tree: async () => (seen = child.pid === undefined ? [] : await descendants(child.pid)),
    dispose: async () => {
      for (const pid of [...seen, ...(child.pid === undefined ? [] : await descendants(child.pid))]) {
        if (await isRunning(pid)) process.kill(pid, 'SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return started;
};

/** Until npm start says it serves (DynamoDB Local and everything else on a busy machine: seconds). */
export const untilServing = (started: NpmStart): Promise<void> =>
  waitFor(() => started.output().includes('Ctrl-C stops the service') || started.child.exitCode !== null, 6000);
