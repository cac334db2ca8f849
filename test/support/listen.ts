import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

export interface Listening {
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

/** Serves a request listener on a free loopback port. */
export async function listenOnFreePort(handler: http.RequestListener): Promise<Listening> {
  const server = http.createServer(handler);
  // As production's listen() does: longer than nginx's upstream idle timeout. With Node's 5 s default, a
  // pause of over 5 s in a test let the server close connections nginx was about to reuse, and both
  // gateways were marked failed (seen in CI as 502s in the nginx suite).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A loopback port free just now, for a program the test starts to bind. */
export async function freePort(): Promise<number> {
  const listening = await listenOnFreePort(() => undefined);
  await listening.close();
  return Number(new URL(listening.url).port);
}

/**
 * A loopback URL on which nothing listens, and nothing in the suite will:
 * a port below 1024, which the kernel never hands out for `listen(0)`
 * (a freed ephemeral port can be taken by a parallel test file meanwhile).
 */
export async function closedPortUrl(): Promise<string> {
  for (const port of [9, 7, 13, 19, 1]) {
    if (await refuses(port)) return `http://127.0.0.1:${port}`;
  }
  throw new Error('no closed low port on 127.0.0.1');
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}
