/**
 * The four KCO callback handlers as the route table names them, loaded the way a Lambda
 * container loads its module: call after setting the environment they read at cold start.
 */
import { resolve } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { kcoCallbacks } from '../../lib/routes.js';
import type { CallbackName } from '../../functions/kco/handlers/kco-handler.js';

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
