/**
 * An HTTP server on 127.0.0.1 (a free port) for the loopback stand-ins of outside services, whose
 * `close()` also ends the requests a stand-in is holding open (a "hanging" service).
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { listenOnLoopback } from './loopback.js';

export type LoopbackServer = { readonly server: Server; readonly url: string; close(): Promise<void> };

export const startLoopbackServer = async (name: string, listener: RequestListener): Promise<LoopbackServer> => {
  const server = createServer(listener);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const url = await listenOnLoopback(server, name);
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }),
  };
};
