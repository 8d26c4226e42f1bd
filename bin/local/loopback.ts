/** Start an HTTP server on 127.0.0.1 at a free port and return its base URL (the stand-ins use it). */
import type { Server } from 'node:http';

export const listenOnLoopback = async (server: Server, name: string): Promise<string> => {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error(`${name}: no address`);
  return `http://127.0.0.1:${address.port}`;
};
