/**
 * A counting HTTP proxy on loopback in front of DynamoDB Local: every request is forwarded as is
 * and counted by its operation (the `X-Amz-Target` header, `DynamoDB_20120810.BatchGetItem` →
 * `BatchGetItem`). The handlers (in process, or in a fresh `node` for a cold start) point
 * DYNAMODB_ENDPOINT here, so the count is what they really sent, whatever the code does.
 */
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type CountingProxy = {
  readonly url: string;
  /** Requests by operation since the last reset. */
  counts(): Record<string, number>;
  total(): number;
  reset(): void;
  close(): Promise<void>;
};

export const startCountingProxy = async (upstream: string): Promise<CountingProxy> => {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const counts = new Map<string, number>();
  const server: Server = createServer((incoming, outgoing) => {
    const amzTarget = incoming.headers['x-amz-target'];
    const operation = (Array.isArray(amzTarget) ? amzTarget[0] : amzTarget)?.split('.').pop() ?? '(none)';
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
    const forward = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
        agent,
      },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forward.on('error', () => {
      if (!outgoing.headersSent) outgoing.writeHead(502);
      outgoing.end();
    });
    incoming.pipe(forward);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => Object.fromEntries(counts),
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => counts.clear(),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
};
