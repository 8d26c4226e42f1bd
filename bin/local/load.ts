/**
 * `npm run load` as a function: drive the KCO callbacks on loopback with realistic mixed traffic
 * (bounded in count, time and concurrency) and report throughput, latency percentiles and errors.
 *
 * The orders are realistic carts (1–20 lines, discounts, a reduced-rate book, SE/DE/US addresses).
 * Before the measured run each cart is priced once by the service's own address_update, so the
 * shipping_option_update and validation bodies carry exactly the prices the rules give and every
 * callback is expected to answer 200: anything else, or a network error, is an error.
 *
 * The soak (bin/local/soak.ts) reuses the carts and the preparation with a direct-call transport.
 */
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { includedTax } from '../../functions/kco/money.js';
import type { Address, OfferedShippingOption, OrderLine, UpdateResponse } from '../../functions/kco/order.js';
import { startLocal, type LocalService } from './start.js';

export const callbackKinds = ['address_update', 'shipping_option_update', 'country_change', 'validation'] as const;
export type CallbackKind = (typeof callbackKinds)[number];

/** Share of each callback in the traffic: address changes dominate, every checkout ends in one validation. */
export const DEFAULT_MIX: Readonly<Record<CallbackKind, number>> = {
  address_update: 0.4,
  shipping_option_update: 0.2,
  country_change: 0.1,
  validation: 0.3,
};

/** One callback as the service answers it: status and body text. */
export type Transport = (callback: CallbackKind, orderId: string, body: string) => Promise<{ status: number; body: string }>;

// ---- Deterministic randomness, so two runs with the same seed send the same traffic. ----

/** mulberry32: small, fast, good enough to pick carts and callbacks. */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const between = (random: () => number, min: number, max: number): number => min + Math.floor(random() * (max - min + 1));

/** A picker over a mix: `next()` returns a callback with the mix's probabilities. */
export const mixPicker = (mix: Readonly<Record<CallbackKind, number>>, random: () => number): (() => CallbackKind) => {
  const total = callbackKinds.reduce((sum, kind) => sum + mix[kind], 0);
  if (!(total > 0)) throw new Error('The callback mix must have a positive weight');
  return () => {
    let left = random() * total;
    for (const kind of callbackKinds) {
      left -= mix[kind];
      if (left < 0) return kind;
    }
    return 'validation';
  };
};

// ---- Carts. Invented addresses (no real person), prices in minor units. ----

const catalogue: readonly { reference: string; name: string; min: number; max: number }[] = [
  { reference: 'TS-1', name: 'T-shirt', min: 9900, max: 29900 },
  { reference: 'HOODIE-2', name: 'Hoodie', min: 39900, max: 89900 },
  { reference: 'SOCKS-3', name: 'Socks, 3 pairs', min: 4900, max: 14900 },
  { reference: 'MUG-4', name: 'Mug', min: 7900, max: 19900 },
  { reference: 'BOOK-001', name: 'A book', min: 9900, max: 34900 }, // reduced VAT in the example rules
  { reference: 'CAP-5', name: 'Cap', min: 14900, max: 29900 },
  { reference: 'BAG-6', name: 'Tote bag', min: 12900, max: 24900 },
  { reference: 'POSTER-7', name: 'Poster', min: 5900, max: 19900 },
];

const addresses: Readonly<Record<'SE' | 'DE' | 'US', readonly Address[]>> = {
  SE: [
    { street_address: 'Testgatan 1', postal_code: '111 57', city: 'Stockholm', country: 'SE' },
    { street_address: 'Provvägen 12', postal_code: '411 01', city: 'Göteborg', country: 'SE' },
    { street_address: 'Exempelgatan 7', postal_code: '211 20', city: 'Malmö', country: 'SE' },
  ],
  DE: [
    { street_address: 'Teststraße 5', postal_code: '10117', city: 'Berlin', country: 'DE' },
    { street_address: 'Beispielweg 22', postal_code: '80331', city: 'München', country: 'DE' },
  ],
  US: [{ street_address: '1 Example Ave', postal_code: '94105', city: 'San Francisco', region: 'CA', country: 'US' }],
};

/** Where the shopper is (SE 60 %, DE 30 %, US 10 %) and where a country_change takes them. */
const homeCountry = (random: () => number): 'SE' | 'DE' | 'US' => {
  const r = random();
  return r < 0.6 ? 'SE' : r < 0.9 ? 'DE' : 'US';
};
const otherCountry = { SE: 'DE', DE: 'SE', US: 'SE' } as const;

export type Cart = {
  orderId: string;
  currency: string;
  lines: OrderLine[];
  address: Address;
  /** The address after the shopper changes country. */
  movedTo: Address;
};

const goodsLine = (random: () => number): OrderLine => {
  const item = pick(random, catalogue);
  const quantity = between(random, 1, 3);
  // Prices end in 00, as shops set them; one line in eight carries a 10 % line discount.
  const unitPrice = Math.round(between(random, item.min, item.max) / 100) * 100;
  const discount = random() < 0.125 ? Math.round((quantity * unitPrice) / 1000) * 100 : 0;
  const total = quantity * unitPrice - discount;
  return {
    type: 'physical',
    reference: item.reference,
    name: item.name,
    quantity,
    unit_price: unitPrice,
    tax_rate: 2500,
    total_amount: total,
    total_discount_amount: discount,
    total_tax_amount: includedTax(total, 2500),
  };
};

/** A cart of 1–20 lines, sometimes with a voucher, for a shopper in SE, DE or the US. */
export const makeCart = (random: () => number, orderId: string): Cart => {
  const lines = Array.from({ length: between(random, 1, 20) }, () => goodsLine(random));
  const goods = lines.reduce((sum, l) => sum + l.total_amount, 0);
  if (random() < 0.2 && goods > 20000) {
    const voucher = Math.min(5000, Math.round(goods / 1000) * 100);
    lines.push({
      type: 'discount',
      reference: 'VOUCHER',
      name: 'Voucher',
      quantity: 1,
      unit_price: -voucher,
      tax_rate: 2500,
      total_amount: -voucher,
      total_discount_amount: 0,
      total_tax_amount: -includedTax(voucher, 2500),
    });
  }
  const country = homeCountry(random);
  return {
    orderId,
    currency: 'EUR',
    lines,
    address: pick(random, addresses[country]),
    movedTo: pick(random, addresses[otherCountry[country]]),
  };
};

const totals = (lines: readonly OrderLine[]) => ({
  order_amount: lines.reduce((sum, l) => sum + l.total_amount, 0),
  order_tax_amount: lines.reduce((sum, l) => sum + l.total_tax_amount, 0),
});

/** The body Klarna sends to address_update for a cart. */
export const addressUpdateBody = (cart: Cart) => ({
  ...totals(cart.lines),
  order_lines: cart.lines,
  purchase_currency: cart.currency,
  billing_address: cart.address,
  shipping_address: cart.address,
  locale: 'en-GB',
  merchant_data: `cart-${cart.orderId}`,
});

/** Every callback's body for one order, each expected to answer 200. */
export type PreparedOrder = { orderId: string; bodies: Record<CallbackKind, string> };

/**
 * Price each cart once through the service's address_update and derive the other callbacks from
 * its answer, as Klarna would: the shopper picks another shipping option, changes country, and
 * the validation order carries exactly the lines and amounts we answered.
 */
export const prepareOrders = async (carts: readonly Cart[], send: Transport): Promise<PreparedOrder[]> => {
  const prepared: PreparedOrder[] = [];
  for (const cart of carts) {
    const addressUpdate = JSON.stringify(addressUpdateBody(cart));
    const answer = await send('address_update', cart.orderId, addressUpdate);
    if (answer.status !== 200) {
      throw new Error(
        `Preparing the load: address_update for ${cart.orderId} answered ${answer.status} ${answer.body.slice(0, 200)} ` +
          '(the load expects the example rules npm start seeds)',
      );
    }
    const priced = JSON.parse(answer.body) as UpdateResponse;
    const offered = priced.shipping_options ?? [];
    const preselected = offered.find((o) => o.preselected);
    const another: OfferedShippingOption | undefined = offered.find((o) => !o.preselected) ?? preselected;
    const common = { purchase_currency: cart.currency, billing_address: cart.address, shipping_address: cart.address, locale: 'en-GB' };
    prepared.push({
      orderId: cart.orderId,
      bodies: {
        address_update: addressUpdate,
        shipping_option_update: JSON.stringify({
          ...common,
          order_amount: priced.order_amount,
          order_tax_amount: priced.order_tax_amount,
          order_lines: priced.order_lines,
          ...(another ? { selected_shipping_option: another } : {}),
        }),
        country_change: JSON.stringify({
          ...addressUpdateBody(cart),
          billing_address: cart.movedTo,
          shipping_address: cart.movedTo,
        }),
        validation: JSON.stringify({
          ...common,
          order_id: cart.orderId,
          purchase_country: cart.address.country,
          order_amount: priced.order_amount,
          order_tax_amount: priced.order_tax_amount,
          order_lines: priced.order_lines,
          ...(preselected ? { selected_shipping_option: preselected } : {}),
          customer: { type: 'person' },
        }),
      },
    });
  }
  return prepared;
};

/** `count` carts with order ids unique to this run. */
export const makeCarts = (count: number, random: () => number, runId: string = randomUUID().slice(0, 8)): Cart[] =>
  Array.from({ length: count }, (_, i) => makeCart(random, `load-${runId}-${i}`));

// ---- Statistics. ----

export type LatencyStats = {
  count: number;
  errors: number;
  /** Milliseconds, nearest-rank percentiles. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
};

/** Nearest-rank percentile of an ascending array (0 when empty). */
export const percentile = (sorted: ArrayLike<number>, q: number): number => {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
};

const round = (ms: number): number => Math.round(ms * 100) / 100;

export const latencyStats = (latencies: readonly number[] | Float64Array, errors: number): LatencyStats => {
  const sorted = Float64Array.from(latencies).sort();
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    errors,
    p50: round(percentile(sorted, 0.5)),
    p90: round(percentile(sorted, 0.9)),
    p99: round(percentile(sorted, 0.99)),
    max: round(sorted.length ? sorted[sorted.length - 1]! : 0),
    mean: round(sorted.length ? sum / sorted.length : 0),
  };
};

// ---- The run. ----

export class LoadConfigError extends Error {
  override name = 'LoadConfigError';
}

/**
 * The target URL, refused unless it is on loopback (127.0.0.0/8 or [::1]): the load tool must
 * never be pointed at someone else's service.
 */
export const loopbackUrl = (raw: string): URL => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LoadConfigError(`LOAD_URL is not a URL: use http://127.0.0.1:<port>`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new LoadConfigError('LOAD_URL must be http:// or https://');
  const host = url.hostname;
  const loopback = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '[::1]';
  if (!loopback) {
    throw new LoadConfigError(`LOAD_URL must point at loopback (127.0.0.1 or [::1]), not "${host}": the load tool only drives a local service`);
  }
  return url;
};

export type LoadOptions = {
  /** A running local service; when absent one is started in-process (startLocal) and stopped after. */
  url?: string;
  /** Callback token for `url`; the started service's own token otherwise. */
  token?: string;
  /** Stop after this many callbacks … */
  requests: number;
  /** … or after this many seconds, whichever comes first. */
  seconds: number;
  /** Callbacks in flight at once. */
  concurrency: number;
  /** Distinct orders the traffic is spread over. */
  orders: number;
  seed: number;
  mix?: Readonly<Record<CallbackKind, number>>;
  /** One callback gives up (and counts as an error) after this. */
  requestTimeoutMs?: number;
  /** Progress lines (preparing, running); silent when absent. */
  progress?: (line: string) => void;
};

export type LoadReport = {
  date: string;
  target: string;
  inProcess: boolean;
  node: string;
  cpus: number;
  concurrency: number;
  orders: number;
  seed: number;
  /** RULES_CACHE_SECONDS of the service (known only when started in-process). */
  rulesCacheSeconds: string | null;
  limits: { requests: number; seconds: number };
  stoppedBy: 'count' | 'time';
  completed: number;
  durationMs: number;
  /** Completed callbacks per second. */
  throughput: number;
  overall: LatencyStats;
  callbacks: Record<CallbackKind, LatencyStats>;
  /** Answers with a status other than the expected one, and network errors, with up to 10 samples. */
  errors: { total: number; samples: string[] };
};

const MAX_ERROR_SAMPLES = 10;

/** A transport over HTTP to the local service (fetch keeps connections alive). */
export const httpTransport = (baseUrl: string, token: string, timeoutMs: number): Transport => {
  const base = baseUrl.replace(/\/$/, '');
  const query = `?token=${encodeURIComponent(token)}`;
  return async (callback, orderId, body) => {
    const response = await fetch(`${base}/kco/orders/${encodeURIComponent(orderId)}/${callback}${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, body: await response.text() };
  };
};

/**
 * Run the load: prepare the orders, then `concurrency` workers send mixed callbacks until
 * `requests` were sent or `seconds` passed; in-flight callbacks finish (each bounded by
 * `requestTimeoutMs`).
 */
export const runLoad = async (options: LoadOptions): Promise<LoadReport> => {
  const say = options.progress ?? (() => undefined);
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  if (options.url !== undefined) loopbackUrl(options.url);
  for (const [name, value] of [
    ['requests', options.requests],
    ['seconds', options.seconds],
    ['concurrency', options.concurrency],
    ['orders', options.orders],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new LoadConfigError(`${name} must be a positive integer, got ${value}`);
  }

  let service: LocalService | undefined;
  let rulesCacheSeconds: string | null = null;
  try {
    let url: string;
    let token: string;
    if (options.url === undefined) {
      say('Starting the local service in-process (DynamoDB Local, tables, example rules)…');
      service = await startLocal({ port: 0, tablePrefix: `klarna-load-${randomUUID().slice(0, 8)}` });
      url = service.url;
      token = options.token ?? service.token;
      rulesCacheSeconds = process.env.RULES_CACHE_SECONDS ?? null;
    } else {
      url = options.url;
      token = options.token ?? 'local-dev-token';
    }
    const send = httpTransport(url, token, requestTimeoutMs);

    const random = seededRandom(options.seed);
    say(`Preparing ${options.orders} orders (one address_update each, not measured)…`);
    const orders = await prepareOrders(makeCarts(options.orders, random), send);

    const nextKind = mixPicker(options.mix ?? DEFAULT_MIX, random);
    const latencies: Record<CallbackKind, number[]> = { address_update: [], shipping_option_update: [], country_change: [], validation: [] };
    const errorCounts: Record<CallbackKind, number> = { address_update: 0, shipping_option_update: 0, country_change: 0, validation: 0 };
    const samples: string[] = [];
    let errorTotal = 0;
    let issued = 0;
    let stoppedBy: 'count' | 'time' = 'count';

    say(`Running: up to ${options.requests} callbacks or ${options.seconds} s, ${options.concurrency} at a time, on ${url}…`);
    const started = performance.now();
    const deadline = started + options.seconds * 1000;
    const worker = async (): Promise<void> => {
      for (;;) {
        if (issued >= options.requests) return;
        if (performance.now() >= deadline) {
          stoppedBy = 'time';
          return;
        }
        issued += 1;
        const kind = nextKind();
        const order = pick(random, orders);
        const sent = performance.now();
        let problem: string | undefined;
        try {
          const answer = await send(kind, order.orderId, order.bodies[kind]);
          if (answer.status !== 200) problem = `${kind} ${order.orderId}: status ${answer.status} ${answer.body.slice(0, 160)}`;
        } catch (error) {
          problem = `${kind} ${order.orderId}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
        }
        latencies[kind].push(performance.now() - sent);
        if (problem !== undefined) {
          errorTotal += 1;
          errorCounts[kind] += 1;
          if (samples.length < MAX_ERROR_SAMPLES) samples.push(problem);
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const durationMs = performance.now() - started;

    const all = callbackKinds.flatMap((kind) => latencies[kind]);
    return {
      date: new Date().toISOString(),
      target: url,
      inProcess: service !== undefined,
      node: process.version,
      cpus: cpus().length,
      concurrency: options.concurrency,
      orders: options.orders,
      seed: options.seed,
      rulesCacheSeconds,
      limits: { requests: options.requests, seconds: options.seconds },
      stoppedBy,
      completed: all.length,
      durationMs: round(durationMs),
      throughput: round(all.length / (durationMs / 1000)),
      overall: latencyStats(all, errorTotal),
      callbacks: Object.fromEntries(callbackKinds.map((kind) => [kind, latencyStats(latencies[kind], errorCounts[kind])])) as Record<
        CallbackKind,
        LatencyStats
      >,
      errors: { total: errorTotal, samples },
    };
  } finally {
    await service?.stop();
  }
};

/** The report as a table for the terminal. */
export const formatLoadReport = (report: LoadReport): string => {
  const header = ['callback', 'requests', 'errors', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'];
  const row = (name: string, s: LatencyStats): string[] => [name, String(s.count), String(s.errors), ...[s.p50, s.p90, s.p99, s.max].map((v) => v.toFixed(1))];
  const rows = [header, ...callbackKinds.map((kind) => row(kind, report.callbacks[kind])), row('all', report.overall)];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [
    line(rows[0]!),
    ...rows.slice(1, -1).map(line),
    widths.map((w) => '-'.repeat(w)).join('  '),
    line(rows[rows.length - 1]!),
    '',
    `throughput: ${report.throughput.toFixed(0)} callbacks/s (${report.completed} in ${(report.durationMs / 1000).toFixed(1)} s, ` +
      `${report.concurrency} in flight, stopped by ${report.stoppedBy === 'count' ? 'the request count' : 'the time limit'})`,
    `errors: ${report.errors.total}${report.errors.samples.length ? `\n  ${report.errors.samples.join('\n  ')}` : ''}`,
    `target: ${report.target}${report.inProcess ? ' (started in-process)' : ''}; RULES_CACHE_SECONDS=${report.rulesCacheSeconds ?? 'as the service has it'}; ` +
      `Node ${report.node}, ${report.cpus} CPUs`,
  ].join('\n');
};
