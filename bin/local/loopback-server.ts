/**
 * An HTTP server on 127.0.0.1 (a free port) for the loopback stand-ins of outside services, whose
 * `close()` also ends the requests a stand-in is holding open (a "hanging" service).
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';

export type LoopbackServer = { readonly server: Server; readonly url: string; close(): Promise<void> };

export const startLoopbackServer = async (name: string, listener: RequestListener): Promise<LoopbackServer> => {
  const server = createServer(listener);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error(`${name}: no address`);
  return {
    server,
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }),
  };
};
