/**
 * Part 6, pushes: what a push costs when the work is done within the request (docs/architecture.md,
 * "Orders: the work is done within the push"). Through the local server (the push handler, warm), against
 * DynamoDB Local behind the counting proxy and the Order Management stand-in: requests per push to
 * Klarna and to DynamoDB, and the push's latency, for a first push of a new order (read, record,
 * check, acknowledge), a repeated one (already acknowledged), and a fraud notification for the
 * acknowledged order (re-read from Klarna, nothing to change). Bounded by PUSH_ORDERS orders.
 */
import { performance } from 'node:perf_hooks';
import { BENCH_TOKEN, type BenchEnvironment } from './environment.js';
import { benchOmOrder } from './orders.js';
import { summarize, type Summary } from './stats.js';

export type PushRow = {
  readonly kind: 'first' | 'repeated' | 'notification';
  readonly orders: number;
  /** Requests per push, averaged over the orders. */
  readonly klarnaRequests: number;
  readonly dynamoDbRequests: Record<string, number>;
  readonly latency: Summary;
  /** Answers other than 200. */
  readonly failures: number;
};

const PUSH_ORDERS = 100;
const ORDER_LINES = 10;

export const runPush = async (env: BenchEnvironment, options: { orders?: number; progress?: (line: string) => void } = {}): Promise<PushRow[]> => {
  const orders = options.orders ?? PUSH_ORDERS;
  const om = env.orderManagement;
  const push = async (orderId: string, route: 'push' | 'notification' = 'push'): Promise<{ ms: number; status: number }> => {
    const started = performance.now();
    const body = route === 'notification' ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ order_id: orderId, event_type: 'FRAUD_RISK_ACCEPTED' }) } : {};
    const response = await fetch(`${env.local.url}/kco/orders/${orderId}/${route}?token=${encodeURIComponent(BENCH_TOKEN)}`, { method: 'POST', ...body });
    await response.arrayBuffer();
    return { ms: performance.now() - started, status: response.status };
  };

  // Warm-up: the handler module's first load and the first connections are not what a push costs.
  om.putOrder(benchOmOrder('bench-push-warm', ORDER_LINES));
  await push('bench-push-warm');

  const collected = {
    first: { latencies: [] as number[], klarna: 0, dynamoDb: {} as Record<string, number>, failures: 0 },
    repeated: { latencies: [] as number[], klarna: 0, dynamoDb: {} as Record<string, number>, failures: 0 },
    notification: { latencies: [] as number[], klarna: 0, dynamoDb: {} as Record<string, number>, failures: 0 },
  };
  for (let i = 0; i < orders; i += 1) {
    const orderId = `bench-push-${i}`;
    om.putOrder(benchOmOrder(orderId, ORDER_LINES));
    for (const kind of ['first', 'repeated', 'notification'] as const) {
      const into = collected[kind];
      env.proxy.reset();
      const before = om.requests.length;
      const { ms, status } = await push(orderId, kind === 'notification' ? 'notification' : 'push');
      into.latencies.push(ms);
      if (status !== 200) into.failures += 1;
      into.klarna += om.requests.length - before;
      for (const [operation, count] of Object.entries(env.proxy.counts())) into.dynamoDb[operation] = (into.dynamoDb[operation] ?? 0) + count;
    }
    if ((i + 1) % 25 === 0) options.progress?.(`  push: ${i + 1}/${orders} orders`);
  }
  return (['first', 'repeated', 'notification'] as const).map((kind) => {
    const { latencies, klarna, dynamoDb, failures } = collected[kind];
    return {
      kind,
      orders,
      klarnaRequests: Number((klarna / orders).toFixed(2)),
      dynamoDbRequests: Object.fromEntries(Object.entries(dynamoDb).map(([operation, n]) => [operation, Number((n / orders).toFixed(2))])),
      latency: summarize(latencies),
      failures,
    };
  });
};
