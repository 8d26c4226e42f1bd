/**
 * The load tool (bin/local/load.ts) on a short run: the local service started in-process, mixed
 * callbacks over loopback, every one answered as expected. No timing is asserted: a loaded
 * machine may be slow, it may not be wrong.
 */
import { createServer, type Server } from 'node:http';
import { callbackKinds, loopbackUrl, makeCarts, mixPicker, runLoad, seededRandom, DEFAULT_MIX, type LoadReport } from '../../bin/local/load.js';
import { reconcile } from '../../functions/kco/money.js';

jest.setTimeout(30_000);

const envBefore = { ...process.env };
afterAll(() => {
  process.env = envBefore;
});

describe('npm run load, short', () => {
  let report: LoadReport;

  beforeAll(async () => {
    delete process.env.KCO_CALLBACK_TOKENS;
    delete process.env.RULES_CACHE_SECONDS;
    report = await runLoad({ requests: 300, seconds: 25, concurrency: 8, orders: 40, seed: 7 });
  });

  it('sends exactly the requested number of callbacks and stops by itself', () => {
    expect(report.completed).toBe(300);
    expect(report.stoppedBy).toBe('count');
    expect(report.inProcess).toBe(true);
    expect(report.target).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('every callback answered 200: zero errors, no error samples', () => {
    expect(report.errors).toEqual({ total: 0, samples: [] });
    expect(report.overall.errors).toBe(0);
    for (const kind of callbackKinds) expect(report.callbacks[kind].errors).toBe(0);
  });

  it('exercised every callback kind, and the per-callback counts add up', () => {
    for (const kind of callbackKinds) expect(report.callbacks[kind].count).toBeGreaterThan(0);
    expect(callbackKinds.reduce((sum, kind) => sum + report.callbacks[kind].count, 0)).toBe(report.overall.count);
    expect(report.overall.count).toBe(300);
  });

  it('reports ordered percentiles and a throughput', () => {
    const { p50, p90, p99, max } = report.overall;
    expect(p50).toBeGreaterThan(0);
    expect(p50).toBeLessThanOrEqual(p90);
    expect(p90).toBeLessThanOrEqual(p99);
    expect(p99).toBeLessThanOrEqual(max);
    expect(report.throughput).toBeGreaterThan(0);
  });
});

describe('the load runner against a stand-in service on loopback', () => {
  let server: Server;
  let url: string;
  /** Which callbacks the stand-in fails with 503. */
  let failing: string | undefined;
  const priced = JSON.stringify({ order_amount: 100, order_tax_amount: 20, order_lines: [], purchase_currency: 'EUR', shipping_options: [] });

  beforeAll(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const callback = request.url?.split('?')[0]?.split('/').pop();
        response.writeHead(callback === failing ? 503 : 200, { 'content-type': 'application/json' });
        response.end(callback === 'validation' ? '' : priced);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('stops by itself when the time is up, however many requests were allowed', async () => {
    failing = undefined;
    const report = await runLoad({ url, token: 't', requests: 100_000_000, seconds: 1, concurrency: 4, orders: 5, seed: 1 });
    expect(report.stoppedBy).toBe('time');
    expect(report.completed).toBeGreaterThan(0);
    expect(report.completed).toBeLessThan(100_000_000);
    expect(report.errors.total).toBe(0);
    expect(report.inProcess).toBe(false);
  });

  it('counts every unexpected status as an error of its callback and keeps a few samples', async () => {
    failing = 'validation';
    const report = await runLoad({ url, token: 't', requests: 400, seconds: 20, concurrency: 4, orders: 5, seed: 2 });
    expect(report.callbacks.validation.count).toBeGreaterThan(0);
    expect(report.callbacks.validation.errors).toBe(report.callbacks.validation.count);
    expect(report.callbacks.address_update.errors).toBe(0);
    expect(report.errors.total).toBe(report.callbacks.validation.count);
    expect(report.errors.samples.length).toBe(Math.min(10, report.errors.total));
    expect(report.errors.samples[0]).toMatch(/^validation load-\S+: status 503/);
  });
});

describe('the load tool’s inputs', () => {
  it('builds carts of 1–20 goods lines (plus a voucher) whose line totals reconcile', () => {
    const carts = makeCarts(200, seededRandom(3), 'test');
    for (const cart of carts) {
      const goods = cart.lines.filter((l) => l.type === 'physical');
      expect(goods.length).toBeGreaterThanOrEqual(1);
      expect(goods.length).toBeLessThanOrEqual(20);
      const order_amount = cart.lines.reduce((s, l) => s + l.total_amount, 0);
      const order_tax_amount = cart.lines.reduce((s, l) => s + l.total_tax_amount, 0);
      expect(reconcile({ order_amount, order_tax_amount, order_lines: cart.lines })).toBeUndefined();
      expect(order_amount).toBeGreaterThan(0);
    }
    expect(new Set(carts.map((c) => c.orderId)).size).toBe(200);
    expect(new Set(carts.map((c) => c.address.country))).toEqual(new Set(['SE', 'DE', 'US']));
  });

  it('follows the mix: 40 % address_update, 20 % shipping_option_update, 10 % country_change, 30 % validation', () => {
    const next = mixPicker(DEFAULT_MIX, seededRandom(11));
    const counts = { address_update: 0, shipping_option_update: 0, country_change: 0, validation: 0 };
    for (let i = 0; i < 20_000; i++) counts[next()] += 1;
    expect(counts.address_update / 20_000).toBeCloseTo(0.4, 1);
    expect(counts.shipping_option_update / 20_000).toBeCloseTo(0.2, 1);
    expect(counts.country_change / 20_000).toBeCloseTo(0.1, 1);
    expect(counts.validation / 20_000).toBeCloseTo(0.3, 1);
  });

  it('refuses a LOAD_URL that is not on loopback', async () => {
    expect(loopbackUrl('http://127.0.0.1:3000').port).toBe('3000');
    expect(loopbackUrl('http://[::1]:3000').hostname).toBe('[::1]');
    for (const url of ['https://api.example.com', 'http://10.0.0.5:3000', 'http://localhost.example.com', 'http://127.0.0.1.nip.io', 'not a url', 'ftp://127.0.0.1']) {
      expect(() => loopbackUrl(url)).toThrow(/LOAD_URL/);
    }
    await expect(runLoad({ url: 'https://api.example.com', requests: 1, seconds: 1, concurrency: 1, orders: 1, seed: 1 })).rejects.toThrow(/loopback/);
  });
});
