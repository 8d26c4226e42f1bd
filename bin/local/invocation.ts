/**
 * One Lambda invocation, as the runtime runs it when invocations share a process. `npm start`
 * serves every function from one process, concurrently; Powertools keeps a logger's Lambda
 * context (function name, request id) per invocation only inside the runtime's InvokeStore, as
 * Lambda does for functions that allow concurrent invocations (`AWS_LAMBDA_MAX_CONCURRENCY`).
 * Without it, one function's lines would carry the name and request id of whichever function
 * last added its context.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from 'aws-lambda';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';

type Store = Record<string | symbol, unknown>;

/**
 * The runtime's store for concurrent invocations: one context per invocation, kept across its
 * awaits. (The package's own multi-invocation store loads `node:async_hooks` through a dynamic
 * import, which Jest's CommonJS runtime refuses; this is the same thing, imported statically.)
 */
class LocalInvokeStore extends InvokeStoreBase {
  readonly #invocations = new AsyncLocalStorage<Store>();
  getContext(): Store | undefined {
    return this.#invocations.getStore();
  }
  hasContext(): boolean {
    return this.#invocations.getStore() !== undefined;
  }
  get<T = unknown>(key: string | symbol): T | undefined {
    return this.#invocations.getStore()?.[key] as T | undefined;
  }
  set<T = unknown>(key: string | symbol, value: T): void {
    if (this.isProtectedKey(key)) throw new Error(`Cannot modify protected Lambda context field: ${String(key)}`);
    const store = this.#invocations.getStore();
    if (!store) throw new Error('No context available');
    store[key] = value;
  }
  run<T>(context: Store, fn: () => T): T {
    return this.#invocations.run(context, fn);
  }
}

const globalLambda = globalThis as unknown as { awslambda?: { InvokeStore?: InvokeStoreBase } };

/**
 * Install the per-invocation store (`npm start` does, first thing), before anything else makes one: the AWS SDK's first request
 * makes a single-invocation store (one context for the whole process) unless
 * AWS_LAMBDA_MAX_CONCURRENCY is set, and whoever comes first sets the process's store.
 */
export const prepareInvocations = (): InvokeStoreBase => {
  const lambda = (globalLambda.awslambda ??= {});
  if (!(lambda.InvokeStore instanceof LocalInvokeStore)) lambda.InvokeStore = new LocalInvokeStore();
  if (process.env.AWS_LAMBDA_MAX_CONCURRENCY === undefined) {
    // The package's own lookup (the AWS SDK asks it on every request) is settled first, while the
    // variable is still unset: it then hands out this store instead of making its own.
    void InvokeStore.getInstanceAsync();
    // Read by Powertools on every access; the store must exist first, or it refuses to log.
    process.env.AWS_LAMBDA_MAX_CONCURRENCY = '16';
  }
  return lambda.InvokeStore;
};

/**
 * Run `invoke` as the invocation `context` describes: its own logger context, its own request id,
 * once `npm start` has prepared the store. Elsewhere (the tests' servers, the bench) as before,
 * without changing the process's environment under them.
 */
export const runInvocation = <T>(context: Context, invoke: () => Promise<T>): Promise<T> => {
  const store = globalLambda.awslambda?.InvokeStore;
  return store instanceof LocalInvokeStore ? store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId }, invoke) : invoke();
};
