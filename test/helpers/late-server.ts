/**
 * A database that comes back: a port on which nothing listens (connections are refused, as by a
 * server that is down) until `up()`, then a TCP proxy to the real server. It counts the
 * connections it forwarded.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface LateServer {
  port: number;
  /** Starts accepting on the port and forwarding to the real server. */
  up(): Promise<void>;
  forwarded(): number;
  close(): Promise<void>;
}

export async function reserveLateServer(target: { host: string; port: number }): Promise<LateServer> {
  // A free port, released at once: refused until up() listens on it again.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let count = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  };
  return {
    port,
    forwarded: () => count,
    up: async () => {
      const listening = createServer((client) => {
        count += 1;
        const upstream = connect(target.port, target.host);
        track(client);
        track(upstream);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, '127.0.0.1', resolve);
      });
      server = listening;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    },
  };
}
