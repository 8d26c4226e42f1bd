/**
 * A loopback HTTP proxy that holds every request for `delayMs` before passing it on, for a
 * service that is slow rather than down (DynamoDB Local at 650 ms a call, say). `delayMs` can be
 * changed while it runs; `requests` counts what arrived.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { startLoopbackServer } from './loopback-server.js';

/** Passes a request (its body already read) to `upstream` and its answer back; an upstream failure drops the connection. */
export const forwardRequest = (request: IncomingMessage, body: Buffer, response: ServerResponse, upstream: URL): void => {
  const forwarded = httpRequest(
    { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    },
  );
  forwarded.on('error', () => response.destroy());
  forwarded.end(body);
};

export type SlowProxy = { readonly url: string; delayMs: number; readonly requests: number; close(): Promise<void> };

export const startSlowProxy = async (upstreamUrl: string, delayMs: number): Promise<SlowProxy> => {
  const upstream = new URL(upstreamUrl);
  let requests = 0;
  const timers = new Set<NodeJS.Timeout>();
  const loopback = await startLoopbackServer('slow proxy', (request, response) => {
    requests += 1;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        forwardRequest(request, Buffer.concat(chunks), response, upstream);
      }, proxy.delayMs);
      timers.add(timer);
    });
  });
  const proxy: SlowProxy = {
    url: loopback.url,
    delayMs,
    get requests() {
      return requests;
    },
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      return loopback.close();
    },
  };
  return proxy;
};
