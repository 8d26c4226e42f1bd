/**
 * Part 4, local throughput: requests per second of the local server (`npm start`'s, started by
 * startLocal in this process) for address_update with a 10-line order, on loopback. The client
 * runs in a worker thread with keep-alive connections, so the server's event loop is its own;
 * the run is bounded in requests and in seconds and stops by itself. Rules are cached (the same
 * order every time), as they are for a busy checkout.
 */
import { Worker } from 'node:worker_threads';
import { BENCH_TOKEN, type BenchEnvironment } from './environment.js';
import { summarize, type Summary } from './stats.js';
import { checkoutBodies } from './warm.js';

export type ThroughputResult = {
  readonly orderLines: number;
  readonly concurrency: number;
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly latency: Summary;
  readonly errors: number;
  readonly statuses: Record<string, number>;
  readonly bounds: { readonly maxRequests: number; readonly maxSeconds: number; readonly warmupRequests: number };
};

const ORDER_LINES = 10;

// Plain JavaScript for the worker: N connections, each sending the next request when the last is answered.
const client = `
const { workerData, parentPort } = require('node:worker_threads');
const http = require('node:http');
const { url, body, concurrency, maxRequests, maxSeconds, warmupRequests } = workerData;
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const send = () => new Promise((resolve) => {
  const started = performance.now();
  const req = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: 'POST', agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
    res.resume();
    res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - started }));
  });
  req.on('error', () => resolve({ status: 0, ms: performance.now() - started }));
  req.end(body);
});
(async () => {
  let issued = 0;
  const loop = async (limit, record) => { while (issued < limit) { issued++; const r = await send(); record(r); } };
  await Promise.all(Array.from({ length: concurrency }, () => loop(warmupRequests, () => {})));
  issued = 0;
  const latencies = [];
  const statuses = {};
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  const bounded = async () => { while (issued < maxRequests && performance.now() < deadline) { issued++; const r = await send(); latencies.push(r.ms); statuses[r.status] = (statuses[r.status] || 0) + 1; } };
  await Promise.all(Array.from({ length: concurrency }, bounded));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  parentPort.postMessage({ latencies, statuses, seconds });
})();
`;

export const runThroughput = async (
  env: BenchEnvironment,
  options: { concurrency?: number; maxRequests?: number; maxSeconds?: number; progress?: (line: string) => void } = {},
): Promise<ThroughputResult> => {
  const concurrency = options.concurrency ?? 8;
  const maxRequests = options.maxRequests ?? 30_000;
  const maxSeconds = options.maxSeconds ?? 10;
  const warmupRequests = 500;
  const body = (await checkoutBodies(ORDER_LINES)).address_update;
  const url = `${env.local.url}/kco/orders/bench-rps-order/address_update?token=${encodeURIComponent(BENCH_TOKEN)}`;
  const worker = new Worker(client, { eval: true, workerData: { url, body, concurrency, maxRequests, maxSeconds, warmupRequests } });
  const outcome = await new Promise<{ latencies: number[]; statuses: Record<string, number>; seconds: number }>((resolve, reject) => {
    // Bounded even if the worker hangs: its own deadline plus a margin.
    const timer = setTimeout(() => void worker.terminate().then(() => reject(new Error('the throughput client did not finish'))), (maxSeconds + 30) * 1000);
    worker.once('message', (message: { latencies: number[]; statuses: Record<string, number>; seconds: number }) => {
      clearTimeout(timer);
      resolve(message);
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  await worker.terminate();
  const requests = outcome.latencies.length;
  const errors = Object.entries(outcome.statuses)
    .filter(([status]) => status !== '200')
    .reduce((sum, [, n]) => sum + n, 0);
  const result: ThroughputResult = {
    orderLines: ORDER_LINES,
    concurrency,
    requests,
    seconds: Number(outcome.seconds.toFixed(2)),
    requestsPerSecond: Math.round(requests / outcome.seconds),
    latency: summarize(outcome.latencies),
    errors,
    statuses: outcome.statuses,
    bounds: { maxRequests, maxSeconds, warmupRequests },
  };
  options.progress?.(
    `  rps: ${result.requestsPerSecond} requests/s (${requests} in ${result.seconds} s, ${concurrency} connections), median ${result.latency.median.toFixed(2)} ms, p99 ${result.latency.p99.toFixed(2)} ms, ${errors} not 200`,
  );
  return result;
};
