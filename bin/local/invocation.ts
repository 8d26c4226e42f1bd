/**
 * One Lambda invocation, as the runtime runs it when invocations share a process. `npm start`
 * serves every function from one process, concurrently; Powertools keeps a logger's Lambda
 * context (function name, request id) per invocation only inside the runtime's InvokeStore, as
 * Lambda does for functions that allow concurrent invocations (`AWS_LAMBDA_MAX_CONCURRENCY`).
 * Without it, one function's lines would carry the name and request id of whichever function
 * last added its context.
 */
import type { Context } from 'aws-lambda';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';

let store: Promise<InvokeStoreBase> | undefined;

/** Run `invoke` as the invocation `context` describes: its own logger context, its own request id. */
export const runInvocation = async <T>(context: Context, invoke: () => Promise<T>): Promise<T> => {
  const invokeStore = await (store ??= InvokeStore.getInstanceAsync(true));
  // Read by Powertools on every access (the store must exist first, or it refuses to log).
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '16';
  return invokeStore.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId }, invoke);
};
