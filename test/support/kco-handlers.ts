/**
 * The four KCO callback handlers as the route table names them, loaded the way a Lambda
 * container loads its module: call after setting the environment they read at cold start.
 * `startKcoCallbacks` loads them against DynamoDB Local with rules of the test's own.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { createTables, startDynamoDb, type RunningDynamoDb } from '../../bin/local/dynamodb-local.js';
import { kcoCallbacks } from '../../lib/routes.js';
import { rulesTable } from '../../lib/tables.js';
import type { CallbackName } from '../../functions/kco/handlers/kco-handler.js';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { putRules } from '../../functions/shared/rules-store.js';

export type LambdaHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
export type KcoHandlers = Record<CallbackName, LambdaHandler>;

export const callbackNames: readonly CallbackName[] = kcoCallbacks.map(({ callback }) => callback);

export const loadKcoHandlers = async (): Promise<KcoHandlers> => {
  const loaded = await Promise.all(
    kcoCallbacks.map(async ({ callback, fn }) => {
      const module = (await import(resolve(process.cwd(), fn.entry))) as { handler: LambdaHandler };
      return [callback, module.handler] as const;
    }),
  );
  return Object.fromEntries(loaded) as KcoHandlers;
};

export type KcoCallbacks = {
  readonly dynamo: RunningDynamoDb;
  /** The rules table's name. */
  readonly table: string;
  readonly handlers: KcoHandlers;
  /** Stops DynamoDB Local and gives the environment back. */
  stop(): Promise<void>;
};

/**
 * DynamoDB Local with a rules table of the test's own (`<tablePrefix>-<uuid>`), the environment
 * the handlers read at cold start (the table, the callback token, the rules cache), the given rules
 * written through the rules store, then the handlers loaded.
 */
export const startKcoCallbacks = async (options: {
  readonly tablePrefix: string;
  readonly token: string;
  /** RULES_CACHE_SECONDS. */
  readonly cacheSeconds: number;
  /** Rules by scope ('default', 'order#<id>'), written in this order; none: a deployment before its first rules. */
  readonly rules?: readonly (readonly [scope: string, rules: Record<string, unknown>])[];
}): Promise<KcoCallbacks> => {
  const savedEnv = { ...process.env };
  const dynamo = await startDynamoDb();
  const stop = async (): Promise<void> => {
    await dynamo.stop();
    process.env = savedEnv;
  };
  try {
    const table = `${options.tablePrefix}-${randomUUID()}`;
    await createTables(dynamo.endpoint, [rulesTable], () => table);
    Object.assign(process.env, { DYNAMODB_ENDPOINT: dynamo.endpoint, RULES_TABLE: table, KCO_CALLBACK_TOKENS: options.token, RULES_CACHE_SECONDS: String(options.cacheSeconds) });
    const client = createDocumentClient(dynamo.endpoint);
    try {
      for (const [scope, rules] of options.rules ?? []) {
        const stored = await putRules(client, table, scope, rules);
        if (!stored.ok) throw new Error(`rules for ${scope} refused: ${JSON.stringify(stored)}`);
      }
    } finally {
      client.destroy();
    }
    return { dynamo, table, handlers: await loadKcoHandlers(), stop };
  } catch (error) {
    await stop();
    throw error;
  }
};
