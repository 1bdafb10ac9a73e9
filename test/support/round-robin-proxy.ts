import { createServer, connect, type Server, type Socket } from 'node:net';

export interface RoundRobinProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Which backend (index into the ports given) each accepted connection went to, in order. */
  readonly assignments: readonly number[];
  /** Takes a backend out of the rotation (as a load balancer does once its readiness probe fails), or back. */
  setEnabled(index: number, enabled: boolean): void;
  close(): Promise<void>;
}

/**
 * A TCP load balancer for tests: each new connection goes to the next enabled backend in turn, and
 * bytes are piped both ways unchanged (HTTP and WebSocket upgrades alike). A connection to a
 * backend that refuses it is closed, as a real balancer with no retry would.
 */
export async function startRoundRobinProxy(backendPorts: readonly number[]): Promise<RoundRobinProxy> {
  const enabled = backendPorts.map(() => true);
  const assignments: number[] = [];
  const sockets = new Set<Socket>();
  let next = 0;

  const pickBackend = (): number | null => {
    for (let tried = 0; tried < backendPorts.length; tried++) {
      const index = next % backendPorts.length;
      next++;
      if (enabled[index]) return index;
    }
    return null;
  };

  // No Nagle delay on either leg: a balancer must not hold back small WebSocket frames (tokens).
  const server: Server = createServer({ noDelay: true }, (client) => {
    const index = pickBackend();
    if (index === null) {
      client.destroy();
      return;
    }
    assignments.push(index);
    const upstream = connect({ port: backendPorts[index], host: '127.0.0.1', noDelay: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('error', () => upstream.destroy());
    upstream.once('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('proxy has no address');

  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    assignments,
    setEnabled(index, on) {
      enabled[index] = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
