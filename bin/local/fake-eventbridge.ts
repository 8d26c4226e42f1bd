/**
 * A stand-in for Amazon EventBridge's PutEvents on 127.0.0.1 (a free port), for `npm start` and
 * the tests: it keeps every event it accepts, in order, can refuse entries on demand (as
 * EventBridge reports a failed entry) and calls `onEvent` for each one (npm start prints them).
 */
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { listenOnLoopback } from './loopback.js';

export type BusEvent = { source: string; detailType: string; detail: Record<string, unknown>; eventBusName: string; time?: string };

export type FakeEventBridge = {
  readonly url: string;
  readonly events: BusEvent[];
  /** Entries and requests refused so far (by failNextEntries / failNextRequests). */
  readonly refusals: number;
  /** Fail the next `count` entries (FailedEntryCount, as EventBridge does when throttled). */
  failNextEntries(count: number): void;
  /**
   * Refuse every entry `match` picks with `code` (as EventBridge refuses an entry it will never
   * take, e.g. MalformedDetail), until `match` is set back to undefined.
   */
  refuseEntries: ((event: BusEvent) => boolean) | undefined;
  refusalCode: string;
  /** Answer the next `count` PutEvents requests with a 500. */
  failNextRequests(count: number): void;
  onEvent: ((event: BusEvent) => void) | undefined;
  reset(): void;
  close(): Promise<void>;
};

type Entry = { Source?: string; DetailType?: string; Detail?: string; EventBusName?: string; Time?: number | string };

/** PutEvents' limit on the entries of one request (each entry's source, detail-type, detail and time). */
export const MAX_REQUEST_BYTES = 256 * 1024;

export const startFakeEventBridge = async (): Promise<FakeEventBridge> => {
  let failEntries = 0;
  let failRequests = 0;
  let refusals = 0;
  let baseUrl = '';
  const fake: FakeEventBridge = {
    get url() {
      return baseUrl;
    },
    events: [],
    get refusals() {
      return refusals;
    },
    failNextEntries(count) {
      failEntries += count;
    },
    failNextRequests(count) {
      failRequests += count;
    },
    onEvent: undefined,
    refuseEntries: undefined,
    refusalCode: 'MalformedDetail',
    reset() {
      fake.events.length = 0;
      failEntries = 0;
      failRequests = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = (status: number, body: unknown): void => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
        response.end(JSON.stringify(body));
      };
      if (request.headers['x-amz-target'] !== 'AWSEvents.PutEvents') return reply(400, { __type: 'UnknownOperationException' });
      if (failRequests > 0) {
        failRequests -= 1;
        refusals += 1;
        return reply(500, { __type: 'InternalException', message: 'fake failure' });
      }
      let entries: Entry[];
      try {
        entries = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Entries?: Entry[] }).Entries ?? [];
      } catch {
        return reply(400, { __type: 'SerializationException' });
      }
      // As EventBridge: entries over 256 KB together refuse the whole request.
      const size = entries.reduce((sum, e) => sum + Buffer.byteLength(`${e.Source ?? ''}${e.DetailType ?? ''}${e.Detail ?? ''}`, 'utf8') + 14, 0);
      if (size > MAX_REQUEST_BYTES) {
        refusals += 1;
        return reply(400, { __type: 'ValidationException', message: 'Total size of the entries in the request is over the limit.' });
      }
      let failed = 0;
      const results = entries.map((entry) => {
        if (failEntries > 0) {
          failEntries -= 1;
          refusals += 1;
          failed += 1;
          return { ErrorCode: 'ThrottlingException', ErrorMessage: 'fake throttling' };
        }
        const event: BusEvent = {
          source: entry.Source ?? '',
          detailType: entry.DetailType ?? '',
          detail: JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>,
          eventBusName: entry.EventBusName ?? 'default',
          ...(entry.Time === undefined ? {} : { time: new Date(typeof entry.Time === 'number' ? entry.Time * 1000 : entry.Time).toISOString() }),
        };
        if (fake.refuseEntries?.(event)) {
          refusals += 1;
          failed += 1;
          return { ErrorCode: fake.refusalCode, ErrorMessage: 'fake refusal' };
        }
        fake.events.push(event);
        fake.onEvent?.(event);
        return { EventId: randomUUID() };
      });
      reply(200, { FailedEntryCount: failed, Entries: results });
    });
  });
  baseUrl = await listenOnLoopback(server, 'fake EventBridge');
  return fake;
};
