/**
 * A stand-in for Klarna's (Kustom's) Order Management API on 127.0.0.1 (a free port):
 * `GET /ordermanagement/v1/orders/{id}` and `POST …/{id}/acknowledge` answer like Klarna (404
 * `NO_SUCH_ORDER` for an unknown order, 204 for an acknowledgement, a repeated
 * `Klarna-Idempotency-Key` answered as the first time). The commands too: `POST …/captures`
 * (201, `Capture-Id` and `Location`; 400 `BAD_VALUE` for lines Klarna's checks refuse; 403
 * `CAPTURE_NOT_ALLOWED` beyond what is authorized or on a
 * cancelled, expired or closed order), `…/refunds` (201, `Refund-Id`; 403 `REFUND_NOT_ALLOWED`),
 * `…/cancel` (204; 403 `CANCEL_NOT_ALLOWED` once captured), `…/release-remaining-authorization`
 * and `…/extend-authorization-time` (204; 403 `NOT_ALLOWED`), `…/captures/{id}/shipping-info`
 * (204; 404 `NO_SUCH_CAPTURE`); the order it returns moves with them (captured_amount,
 * remaining_authorized_amount, status, captures, refunds, expires_at). It counts calls per order
 * and can fail on demand: an error status, a slow answer, a hang (until close()), garbage, or
 * `bookThenDrop` (the command is booked, then the connection is cut before any answer).
 * `npm start` uses it when KCO_API_BASE_URL is not set; the tests use it throughout.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { listenOnLoopback } from './loopback.js';

export const omCalls = ['get', 'acknowledge', 'capture', 'refund', 'cancel', 'release', 'extend', 'shipping_info'] as const;
export type OmCall = (typeof omCalls)[number];
export type OmCommandCall = Exclude<OmCall, 'get' | 'acknowledge'>;

/** How the next matching request is answered instead of normally. */
export type OmFault =
  | { readonly status: number; readonly body?: unknown; readonly retryAfter?: string }
  | { readonly delayMs: number }
  | { readonly hang: true }
  | { readonly garbage: true }
  /** Book the command as usual, then cut the connection without an answer. */
  | { readonly bookThenDrop: true };

export type OmRequest = {
  readonly call: OmCall;
  readonly orderId: string;
  readonly authorization: string | undefined;
  readonly idempotencyKey: string | undefined;
  readonly userAgent: string | undefined;
};

export type FakeOrderManagement = {
  readonly url: string;
  /** Every request, in arrival order. */
  readonly requests: OmRequest[];
  /** When set, requests need exactly these Basic credentials (401 otherwise). */
  credentials: { username: string; password: string } | undefined;
  /** Add or replace an order (Klarna's shape); returns it. */
  putOrder(order: Record<string, unknown> & { order_id: string }): Record<string, unknown>;
  /** Change fields of a stored order (as Klarna's own decisions would). */
  updateOrder(orderId: string, fields: Record<string, unknown>): void;
  /** Answer the next `times` requests of `call` with `fault` (after any faults already queued). */
  failNext(call: OmCall, fault: OmFault, times?: number): void;
  /** Answer every request of `call` with `fault` until `clearFaults`. */
  failAlways(call: OmCall, fault: OmFault): void;
  clearFaults(): void;
  /** Acknowledge requests received for an order (answered or not). */
  acknowledgeCalls(orderId: string): number;
  /** Acknowledge requests answered 204 for an order (a repeated idempotency key included). */
  acknowledgements(orderId: string): number;
  /** Has Klarna's side recorded the acknowledgement? */
  isAcknowledged(orderId: string): boolean;
  /** Commands booked for an order (a replayed idempotency key books nothing new). */
  bookings(orderId: string, call: OmCommandCall): number;
  /** The order as the stand-in now holds it. */
  order(orderId: string): Record<string, unknown> | undefined;
  /** Command requests received for an order (answered or not). */
  calls(orderId: string, call: OmCall): number;
  /** Resolves when a request of `call` for `orderId` has arrived (already or later). */
  waitForRequest(call: OmCall, orderId: string): Promise<void>;
  reset(): void;
  close(): Promise<void>;
};

/** Klarna's approved Swedish test person, as Order Management returns an address (with e-mail and phone). */
const testAddress = {
  given_name: 'Testperson-se',
  family_name: 'Approved',
  street_address: 'Stårgatan 1',
  postal_code: '12345',
  city: 'Ankeborg',
  country: 'SE',
  email: 'youremail@email.com',
  phone: '+46765260000',
};

/** A Klarna-shaped order as Order Management returns it, 2 × 12 500 + 4 900 shipping, in SEK. */
export const exampleOmOrder = (orderId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> & { order_id: string } => ({
  order_id: orderId,
  status: 'AUTHORIZED',
  fraud_status: 'ACCEPTED',
  order_amount: 29900,
  original_order_amount: 29900,
  captured_amount: 0,
  refunded_amount: 0,
  remaining_authorized_amount: 29900,
  purchase_currency: 'SEK',
  locale: 'sv-SE',
  order_lines: [
    { type: 'physical', reference: 'TSHIRT-1', name: 'T-shirt', quantity: 2, unit_price: 12500, tax_rate: 2500, total_amount: 25000, total_discount_amount: 0, total_tax_amount: 5000 },
    { type: 'shipping_fee', reference: 'standard', name: 'Standard delivery', quantity: 1, unit_price: 4900, tax_rate: 2500, total_amount: 4900, total_discount_amount: 0, total_tax_amount: 980 },
  ],
  customer: { date_of_birth: '1980-01-01' },
  billing_address: { ...testAddress },
  shipping_address: { ...testAddress },
  merchant_reference1: `shop-${orderId}`,
  created_at: '2026-12-02T08:00:00.000Z',
  expires_at: '2026-12-30T08:00:00.000Z',
  ...overrides,
});

const ORDER_PATH = /^\/ordermanagement\/v1\/orders\/([^/]+)(?:\/(acknowledge|captures|refunds|cancel|release-remaining-authorization|extend-authorization-time)|\/captures\/([^/]+)\/(shipping-info))?$/;

const POST_CALLS: Readonly<Record<string, OmCall>> = {
  acknowledge: 'acknowledge',
  captures: 'capture',
  refunds: 'refund',
  cancel: 'cancel',
  'release-remaining-authorization': 'release',
  'extend-authorization-time': 'extend',
  'shipping-info': 'shipping_info',
};

/** How long an extension adds, from the moment of the call (Klarna: the account's period, 28 days by default). */
export const EXTENSION_MS = 28 * 86_400_000;

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

export const startFakeOrderManagement = async (): Promise<FakeOrderManagement> => {
  const orders = new Map<string, Record<string, unknown>>();
  const acknowledged = new Set<string>();
  const answeredKeys = new Map<string, number>();
  const commandAnswers = new Map<string, Answer>();
  const booked = new Map<string, number>();
  const acknowledgedTimes = new Map<string, number>();
  const requests: OmRequest[] = [];
  const queued = Object.fromEntries(omCalls.map((call) => [call, [] as OmFault[]])) as Record<OmCall, OmFault[]>;
  const always: Partial<Record<OmCall, OmFault>> = {};
  const waiters: { call: OmCall; orderId: string; resolve: () => void }[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let baseUrl = '';

  const send = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    if (response.writableEnded) return;
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    response.writeHead(status, { 'klarna-correlation-id': randomUUID(), ...(text ? { 'content-type': 'application/json' } : {}), ...headers });
    response.end(text);
  };
  const klarnaError = (code: string, message: string) => ({ error_code: code, error_messages: [message], correlation_id: randomUUID() });

  const fake: FakeOrderManagement = {
    get url() {
      return baseUrl;
    },
    requests,
    credentials: undefined,
    putOrder(order) {
      orders.set(order.order_id, structuredClone(order));
      return order;
    },
    updateOrder(orderId, fields) {
      const order = orders.get(orderId);
      if (!order) throw new Error(`fake OM: no order ${orderId}`);
      Object.assign(order, structuredClone(fields));
    },
    failNext(call, fault, times = 1) {
      for (let i = 0; i < times; i += 1) queued[call].push(fault);
    },
    failAlways(call, fault) {
      always[call] = fault;
    },
    clearFaults() {
      for (const call of omCalls) {
        queued[call].length = 0;
        delete always[call];
      }
    },
    bookings: (orderId, call) => booked.get(`${orderId}|${call}`) ?? 0,
    order: (orderId) => (orders.has(orderId) ? structuredClone(orders.get(orderId)) : undefined),
    calls: (orderId, call) => requests.filter((r) => r.call === call && r.orderId === orderId).length,
    acknowledgeCalls: (orderId) => requests.filter((r) => r.call === 'acknowledge' && r.orderId === orderId).length,
    acknowledgements: (orderId) => acknowledgedTimes.get(orderId) ?? 0,
    isAcknowledged: (orderId) => acknowledged.has(orderId),
    waitForRequest: (call, orderId) =>
      requests.some((r) => r.call === call && r.orderId === orderId)
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ call, orderId, resolve })),
    reset() {
      orders.clear();
      acknowledged.clear();
      acknowledgedTimes.clear();
      answeredKeys.clear();
      commandAnswers.clear();
      booked.clear();
      requests.length = 0;
      fake.clearFaults();
      fake.credentials = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }),
  };

  /**
   * Klarna's consistency checks on the lines of a capture or refund, written here apart from the
   * ledger that builds them: each line's total_amount is quantity × unit_price −
   * total_discount_amount, its total_tax_amount within ±1 of total_amount × tax_rate /
   * (10000 + tax_rate), and the lines add up to the amount. Klarna answers 400 BAD_VALUE naming
   * the field. Exact in BigInt: amounts reach 2^31 and more.
   */
  const badLineField = (lines: unknown, amountField: string, amount: number): string | undefined => {
    if (lines === undefined) return undefined;
    if (!Array.isArray(lines)) return 'order_lines';
    let sum = 0n;
    for (const [index, line] of (lines as unknown[]).entries()) {
      if (typeof line !== 'object' || line === null) return `order_lines[${index}]`;
      const { quantity, unit_price, total_amount, total_tax_amount = 0, tax_rate = 0, total_discount_amount = 0 } = line as Record<string, unknown>;
      for (const [name, value] of Object.entries({ quantity, unit_price, total_amount, total_tax_amount, tax_rate, total_discount_amount })) {
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) return `order_lines[${index}].${name}`;
      }
      const [q, u, a, t, r, d] = [quantity, unit_price, total_amount, total_tax_amount, tax_rate, total_discount_amount].map((v) => BigInt(v as number)) as [bigint, bigint, bigint, bigint, bigint, bigint];
      if (q < 0n || r < 0n || r > 10_000n) return `order_lines[${index}].${q < 0n ? 'quantity' : 'tax_rate'}`;
      if (a !== q * u - d) return `order_lines[${index}].total_amount`;
      const deviation = t * (10_000n + r) - a * r;
      if (deviation > 10_000n + r || -deviation > 10_000n + r) return `order_lines[${index}].total_tax_amount`;
      sum += a;
    }
    return sum === BigInt(amount) ? undefined : amountField;
  };

  const amountOf = (order: Record<string, unknown>, field: string): number => (typeof order[field] === 'number' ? (order[field] as number) : 0);

  /** Klarna's decision on a command, applied to the stored order when it books. */
  const command = (call: OmCommandCall, order: Record<string, unknown>, orderId: string, body: Record<string, unknown>, captureId: string | undefined): Answer => {
    const status = String(order.status ?? 'AUTHORIZED');
    const closed = ['CANCELLED', 'EXPIRED', 'CLOSED'].includes(status);
    const expired = typeof order.expires_at === 'string' && Date.parse(order.expires_at) <= Date.now();
    const captured = amountOf(order, 'captured_amount');
    const refunded = amountOf(order, 'refunded_amount');
    const remaining = typeof order.remaining_authorized_amount === 'number' ? order.remaining_authorized_amount : amountOf(order, 'order_amount') - captured;
    const captures = (order.captures as Record<string, unknown>[] | undefined) ?? [];
    const refunds = (order.refunds as Record<string, unknown>[] | undefined) ?? [];
    const path = `/ordermanagement/v1/orders/${encodeURIComponent(orderId)}`;
    const book = (): void => {
      booked.set(`${orderId}|${call}`, (booked.get(`${orderId}|${call}`) ?? 0) + 1);
    };
    switch (call) {
      case 'capture': {
        const amount = body.captured_amount;
        if (typeof amount !== 'number' || !Number.isInteger(amount) || amount < 0) return { status: 400, body: klarnaError('BAD_VALUE', 'captured_amount is required') };
        const badCaptureField = badLineField(body.order_lines, 'captured_amount', amount);
        if (badCaptureField !== undefined) return { status: 400, body: klarnaError('BAD_VALUE', `Bad value: ${badCaptureField}`) };
        if (closed || expired || order.fraud_status === 'REJECTED' || order.fraud_status === 'PENDING' || amount > remaining) {
          return { status: 403, body: klarnaError('CAPTURE_NOT_ALLOWED', 'Capture not allowed.') };
        }
        const id = randomUUID();
        captures.push({ capture_id: id, captured_amount: amount, order_lines: body.order_lines ?? [], reference: body.reference, shipping_info: body.shipping_info ?? [], captured_at: new Date().toISOString() });
        Object.assign(order, { captures, captured_amount: captured + amount, remaining_authorized_amount: remaining - amount, status: remaining - amount === 0 ? 'CAPTURED' : 'PART_CAPTURED' });
        book();
        return { status: 201, headers: { 'capture-id': id, location: `${baseUrl}${path}/captures/${id}` } };
      }
      case 'refund': {
        const amount = body.refunded_amount;
        if (typeof amount !== 'number' || !Number.isInteger(amount) || amount < 0) return { status: 400, body: klarnaError('BAD_VALUE', 'refunded_amount is required') };
        const badRefundField = badLineField(body.order_lines, 'refunded_amount', amount);
        if (badRefundField !== undefined) return { status: 400, body: klarnaError('BAD_VALUE', `Bad value: ${badRefundField}`) };
        if (captured === 0 || amount > captured - refunded) return { status: 403, body: klarnaError('REFUND_NOT_ALLOWED', 'Refund not allowed.') };
        const id = randomUUID();
        refunds.push({ refund_id: id, refunded_amount: amount, order_lines: body.order_lines ?? [], reference: body.reference, refunded_at: new Date().toISOString() });
        Object.assign(order, { refunds, refunded_amount: refunded + amount });
        book();
        return { status: 201, headers: { 'refund-id': id, location: `${baseUrl}${path}/refunds/${id}` } };
      }
      case 'cancel':
        if (closed || captured > 0) return { status: 403, body: klarnaError('CANCEL_NOT_ALLOWED', 'Cancel not allowed.') };
        Object.assign(order, { status: 'CANCELLED', remaining_authorized_amount: 0 });
        book();
        return { status: 204 };
      case 'release':
        if (closed || captured === 0) return { status: 403, body: klarnaError('NOT_ALLOWED', 'Can not release when order is cancelled or has no captures.') };
        Object.assign(order, { remaining_authorized_amount: 0, status: 'CAPTURED' });
        book();
        return { status: 204 };
      case 'extend':
        if (closed || expired) return { status: 403, body: klarnaError('NOT_ALLOWED', 'Extension of authorization time not allowed.') };
        Object.assign(order, { expires_at: new Date(Date.now() + EXTENSION_MS).toISOString() });
        book();
        return { status: 204 };
      case 'shipping_info': {
        const capture = captures.find((c) => c.capture_id === captureId);
        if (!capture) return { status: 404, body: klarnaError('NO_SUCH_CAPTURE', 'Capture not found.') };
        capture.shipping_info = [...((capture.shipping_info as unknown[] | undefined) ?? []), ...((body.shipping_info as unknown[] | undefined) ?? [])];
        book();
        return { status: 204 };
      }
    }
  };

  const answer = (request: IncomingMessage, response: ServerResponse, call: OmCall, orderId: string, body = '', captureId?: string, drop = false): void => {
    const expected = fake.credentials
      ? `Basic ${Buffer.from(`${fake.credentials.username}:${fake.credentials.password}`).toString('base64')}`
      : undefined;
    if (expected !== undefined && request.headers.authorization !== expected) {
      return send(response, 401, klarnaError('UNAUTHORIZED', 'Invalid credentials'));
    }
    const order = orders.get(orderId);
    if (!order) return send(response, 404, klarnaError('NO_SUCH_ORDER', `Order ${orderId} was not found`));
    if (call === 'get') return send(response, 200, order);
    if (call !== 'acknowledge') {
      const key = request.headers['klarna-idempotency-key'];
      const keyId = typeof key === 'string' ? `${orderId}|${key}` : undefined;
      // Only the key matters: a repeat gets the first answer whatever its body.
      let result = keyId === undefined ? undefined : commandAnswers.get(keyId);
      if (result === undefined) {
        let parsed: unknown;
        try {
          parsed = body === '' ? {} : JSON.parse(body);
        } catch {
          return send(response, 400, klarnaError('BAD_VALUE', 'Body is not JSON'));
        }
        result = command(call, order, orderId, (parsed ?? {}) as Record<string, unknown>, captureId);
        if (keyId !== undefined && result.status < 500) commandAnswers.set(keyId, result);
      }
      if (drop) {
        response.socket?.destroy();
        return;
      }
      return send(response, result.status, result.body, result.headers);
    }
    const key = request.headers['klarna-idempotency-key'];
    const keyId = typeof key === 'string' ? `${orderId}|${key}` : undefined;
    acknowledgedTimes.set(orderId, (acknowledgedTimes.get(orderId) ?? 0) + 1);
    if (keyId !== undefined && answeredKeys.has(keyId)) return send(response, answeredKeys.get(keyId) ?? 204, undefined);
    acknowledged.add(orderId);
    if (keyId !== undefined) answeredKeys.set(keyId, 204);
    send(response, 204, undefined);
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => route(request, response, Buffer.concat(chunks).toString('utf8')));
  });
  const route = (request: IncomingMessage, response: ServerResponse, body: string): void => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const match = ORDER_PATH.exec(url.pathname);
    const action = match?.[2] ?? match?.[4];
    const call: OmCall | undefined = !match ? undefined : action ? (request.method === 'POST' ? POST_CALLS[action] : undefined) : request.method === 'GET' ? 'get' : undefined;
    if (!match || call === undefined) return send(response, 404, klarnaError('NOT_FOUND', 'No such resource'));
    const orderId = decodeURIComponent(match[1] ?? '');
    const captureId = match[3] === undefined ? undefined : decodeURIComponent(match[3]);
    const header = (name: string): string | undefined => {
      const value = request.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    requests.push({
      call,
      orderId,
      authorization: header('authorization'),
      idempotencyKey: header('klarna-idempotency-key'),
      userAgent: header('user-agent'),
    });
    for (const waiter of waiters.splice(0)) {
      if (waiter.call === call && waiter.orderId === orderId) waiter.resolve();
      else waiters.push(waiter);
    }
    const fault = queued[call].shift() ?? always[call];
    if (fault === undefined) return answer(request, response, call, orderId, body, captureId);
    if ('bookThenDrop' in fault) return answer(request, response, call, orderId, body, captureId, true);
    if ('hang' in fault) return; // the socket stays open until the client gives up or close()
    if ('garbage' in fault) return send(response, 200, '<html>not json', { 'content-type': 'text/html' });
    if ('delayMs' in fault) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer(request, response, call, orderId, body, captureId);
      }, fault.delayMs);
      timers.add(timer);
      return;
    }
    send(response, fault.status, fault.body ?? klarnaError('TEMPORARILY_UNAVAILABLE', 'fake failure'), fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
  };
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  baseUrl = await listenOnLoopback(server, 'fake Order Management');
  return fake;
};
