/**
 * A stand-in for Klarna's On-site messaging API on 127.0.0.1 (a free port): `GET /messaging/v3`
 * and `/messaging/v4` answer like Klarna (403 without a User-Agent, `klarna-correlation-id`,
 * `cache-control`), with content, status, Cache-Control, `Age` and delay (or a hang) chosen per
 * request; it counts messaging requests by query and serves the impression URLs it hands out,
 * counting the hits. `hold()` keeps every messaging answer back until released, so tests can
 * make requests meet without timing them. `close()` also ends hanging requests.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { listenOnLoopback } from './loopback.js';

export type FakeRequest = {
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly userAgent: string | undefined;
  readonly authorization: string | undefined;
};

export type FakeAnswer = {
  /** Default 200. */
  readonly status?: number;
  /** Sent as JSON (a string is sent as is); default: Klarna-like content for the query. */
  readonly body?: unknown;
  /** Default `defaultCacheControl`; null sends no header. */
  readonly cacheControl?: string | null;
  /** Sent as the `Age` header, as Klarna's CDN would; default none. */
  readonly age?: string;
  readonly delayMs?: number;
  /** Never answer (until close()). */
  readonly hang?: boolean;
};

export type FakeOsm = {
  readonly url: string;
  /** Every messaging request, in arrival order (impression hits are not in it). */
  readonly requests: FakeRequest[];
  /** Cache-Control of answers that do not choose their own. */
  defaultCacheControl: string | null;
  /** Status of the impression URLs (default 200 with a 1×1 GIF). */
  impressionStatus: number;
  /** When set, v4 requests need exactly these Basic credentials (401 otherwise). */
  v4Credentials: { username: string; password: string } | undefined;
  /** Decide the answer per request (a function) or for every request (a value). */
  setAnswer(answer: FakeAnswer | ((request: FakeRequest) => FakeAnswer)): void;
  /** Messaging requests whose query has every given parameter. */
  countRequests(match?: Readonly<Record<string, string>>): number;
  /** The impression URL handed out for a query. */
  impressionUrlFor(query: Readonly<Record<string, string>>): string;
  /** Hits of one impression URL, or of all. */
  impressionHits(url?: string): number;
  /** Keep messaging answers back until the returned function is called (or reset / close). */
  hold(): () => void;
  /** Resolves once this many messaging requests have arrived in all (counting since reset). */
  requestsArrived(count: number): Promise<void>;
  /** Forget requests and hits; back to the default answer. */
  reset(): void;
  close(): Promise<void>;
};

/** Klarna-shaped content for a query: the three documented nodes plus one unknown type. */
export const klarnaContent = (query: Readonly<Record<string, string>>, impressionUrl: string): unknown => {
  const amount = Number(query.purchase_amount ?? 0);
  const quarter = (amount / 400).toFixed(2);
  return {
    content: {
      nodes: [
        { type: 'TEXT', name: 'TEXT_MAIN', value: `Make 4 payments of $${quarter}. No fees.`, undocumented_style: 'bold' },
        { type: 'ACTION', name: 'ACTION_LEARN_MORE', label: 'Learn more', url: 'https://www.klarna.com/us/pay-in-4/' },
        { type: 'IMAGE', name: 'KLARNA_BADGE', alt: 'Klarna', url: 'https://x.klarnacdn.net/payment-method/assets/badges/generic/klarna.svg' },
        { type: 'VIDEO', name: 'SOMETHING_NEW', url: 'https://example.com/video.mp4' },
      ],
    },
    impression_url: impressionUrl,
    undocumented_field: { tracking: true },
  };
};

const GIF_1X1 = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export const startFakeOsm = async (): Promise<FakeOsm> => {
  let answer: FakeAnswer | ((request: FakeRequest) => FakeAnswer) = {};
  const requests: FakeRequest[] = [];
  const hits = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let baseUrl = '';
  let held: { gate: Promise<void>; release: () => void } | undefined;
  let arrivals: { count: number; resolve: () => void }[] = [];
  const release = (): void => {
    held?.release();
    held = undefined;
  };
  const noteArrival = (): void => {
    const due = arrivals.filter((a) => requests.length >= a.count);
    arrivals = arrivals.filter((a) => requests.length < a.count);
    for (const arrival of due) arrival.resolve();
  };

  const impressionPath = (query: Readonly<Record<string, string>>): string =>
    `/impressions/${[query.placement_key, query.locale, query.purchase_amount ?? 'none'].map((p) => encodeURIComponent(p ?? '')).join('/')}`;

  const fake: FakeOsm = {
    get url() {
      return baseUrl;
    },
    requests,
    defaultCacheControl: 'max-age=60',
    impressionStatus: 200,
    v4Credentials: undefined,
    setAnswer(next) {
      answer = next;
    },
    countRequests(match = {}) {
      return requests.filter((r) => Object.entries(match).every(([k, v]) => r.query[k] === v)).length;
    },
    impressionUrlFor(query) {
      return `${baseUrl}${impressionPath(query)}`;
    },
    impressionHits(url) {
      if (url === undefined) return [...hits.values()].reduce((a, b) => a + b, 0);
      return hits.get(new URL(url).pathname) ?? 0;
    },
    hold() {
      let open: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (open = resolve));
      held = { gate, release: open };
      return release;
    },
    requestsArrived(count) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise<void>((resolve) => arrivals.push({ count, resolve }));
    },
    reset() {
      release();
      arrivals = [];
      requests.length = 0;
      hits.clear();
      answer = {};
      fake.defaultCacheControl = 'max-age=60';
      fake.impressionStatus = 200;
      fake.v4Credentials = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        release();
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }),
  };

  const send = (response: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void => {
    response.writeHead(status, { 'klarna-correlation-id': randomUUID(), ...headers });
    response.end(body);
  };

  const messaging = (request: IncomingMessage, response: ServerResponse, url: URL): void => {
    const query = Object.fromEntries(url.searchParams);
    const seen: FakeRequest = {
      path: url.pathname,
      query,
      userAgent: request.headers['user-agent'],
      authorization: request.headers.authorization,
    };
    requests.push(seen);
    noteArrival();
    // Klarna blocks requests without a User-Agent.
    if (!seen.userAgent) return send(response, 403, JSON.stringify({ error_code: 'FORBIDDEN' }), { 'content-type': 'application/json' });
    if (url.pathname === '/messaging/v4' && fake.v4Credentials) {
      const expected = `Basic ${Buffer.from(`${fake.v4Credentials.username}:${fake.v4Credentials.password}`).toString('base64')}`;
      if (seen.authorization !== expected) return send(response, 401, JSON.stringify({ error_code: 'UNAUTHORIZED' }));
    }
    if (url.pathname === '/messaging/v3' && !query.client_id) return send(response, 400, JSON.stringify({ error_code: 'BAD_VALUE' }));

    const chosen = typeof answer === 'function' ? answer(seen) : answer;
    if (chosen.hang) return; // the socket stays open until the client gives up or close()
    const status = chosen.status ?? 200;
    const cacheControl = chosen.cacheControl === undefined ? fake.defaultCacheControl : chosen.cacheControl;
    const body =
      chosen.body === undefined
        ? status === 200
          ? JSON.stringify(klarnaContent(query, fake.impressionUrlFor(query)))
          : JSON.stringify({ error_code: 'INTERNAL_ERROR', error_messages: ['fake failure'] })
        : typeof chosen.body === 'string'
          ? chosen.body
          : JSON.stringify(chosen.body);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (cacheControl !== null) headers['cache-control'] = cacheControl;
    if (chosen.age !== undefined) headers.age = chosen.age;
    const reply = (): void => send(response, status, status === 204 ? '' : body, headers);
    if (held) {
      void held.gate.then(reply);
    } else if (chosen.delayMs) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        reply();
      }, chosen.delayMs);
      timers.add(timer);
    } else {
      reply();
    }
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    request.resume();
    if (request.method === 'GET' && (url.pathname === '/messaging/v3' || url.pathname === '/messaging/v4')) {
      return messaging(request, response, url);
    }
    if (request.method === 'GET' && url.pathname.startsWith('/impressions/')) {
      hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
      return fake.impressionStatus === 200
        ? send(response, 200, GIF_1X1, { 'content-type': 'image/gif', 'cache-control': 'no-store' })
        : send(response, fake.impressionStatus, '');
    }
    send(response, 404, JSON.stringify({ error_code: 'NOT_FOUND' }));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  baseUrl = await listenOnLoopback(server, 'fake OSM');
  return fake;
};
