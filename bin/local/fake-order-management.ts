/**
 * A stand-in for Klarna's (Kustom's) Order Management API on 127.0.0.1 (a free port):
 * `GET /ordermanagement/v1/orders/{id}` and `POST …/{id}/acknowledge` answer like Klarna (404
 * `NO_SUCH_ORDER` for an unknown order, 204 for an acknowledgement, a repeated
 * `Klarna-Idempotency-Key` answered as the first time). It counts acknowledge calls per order and
 * can fail on demand: an error status, a slow answer, a hang (until close()), or garbage.
 * `npm start` uses it when KCO_API_BASE_URL is not set; the tests use it throughout.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { listenOnLoopback } from './loopback.js';

export type OmCall = 'get' | 'acknowledge';

/** How the next matching request is answered instead of normally. */
export type OmFault =
  | { readonly status: number; readonly body?: unknown; readonly retryAfter?: string }
  | { readonly delayMs: number }
  | { readonly hang: true }
  | { readonly garbage: true };

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

const ORDER_PATH = /^\/ordermanagement\/v1\/orders\/([^/]+)(\/acknowledge)?$/;

export const startFakeOrderManagement = async (): Promise<FakeOrderManagement> => {
  const orders = new Map<string, Record<string, unknown>>();
  const acknowledged = new Set<string>();
  const answeredKeys = new Map<string, number>();
  const acknowledgedTimes = new Map<string, number>();
  const requests: OmRequest[] = [];
  const queued: Record<OmCall, OmFault[]> = { get: [], acknowledge: [] };
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
      queued.get.length = 0;
      queued.acknowledge.length = 0;
      delete always.get;
      delete always.acknowledge;
    },
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

  const answer = (request: IncomingMessage, response: ServerResponse, call: OmCall, orderId: string): void => {
    const expected = fake.credentials
      ? `Basic ${Buffer.from(`${fake.credentials.username}:${fake.credentials.password}`).toString('base64')}`
      : undefined;
    if (expected !== undefined && request.headers.authorization !== expected) {
      return send(response, 401, klarnaError('UNAUTHORIZED', 'Invalid credentials'));
    }
    const order = orders.get(orderId);
    if (!order) return send(response, 404, klarnaError('NO_SUCH_ORDER', `Order ${orderId} was not found`));
    if (call === 'get') return send(response, 200, order);
    const key = request.headers['klarna-idempotency-key'];
    const keyId = typeof key === 'string' ? `${orderId}|${key}` : undefined;
    acknowledgedTimes.set(orderId, (acknowledgedTimes.get(orderId) ?? 0) + 1);
    if (keyId !== undefined && answeredKeys.has(keyId)) return send(response, answeredKeys.get(keyId) ?? 204, undefined);
    acknowledged.add(orderId);
    if (keyId !== undefined) answeredKeys.set(keyId, 204);
    send(response, 204, undefined);
  };

  const server = createServer((request, response) => {
    request.resume();
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const match = ORDER_PATH.exec(url.pathname);
    const call: OmCall | undefined = !match ? undefined : match[2] ? (request.method === 'POST' ? 'acknowledge' : undefined) : request.method === 'GET' ? 'get' : undefined;
    if (!match || call === undefined) return send(response, 404, klarnaError('NOT_FOUND', 'No such resource'));
    const orderId = decodeURIComponent(match[1] ?? '');
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
    if (fault === undefined) return answer(request, response, call, orderId);
    if ('hang' in fault) return; // the socket stays open until the client gives up or close()
    if ('garbage' in fault) return send(response, 200, '<html>not json', { 'content-type': 'text/html' });
    if ('delayMs' in fault) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer(request, response, call, orderId);
      }, fault.delayMs);
      timers.add(timer);
      return;
    }
    send(response, fault.status, fault.body ?? klarnaError('TEMPORARILY_UNAVAILABLE', 'fake failure'), fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  baseUrl = await listenOnLoopback(server, 'fake Order Management');
  return fake;
};
