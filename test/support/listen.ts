import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Listening {
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

/** Serves a request listener on a free loopback port. */
export async function listenOnFreePort(handler: http.RequestListener): Promise<Listening> {
  const server = http.createServer(handler);
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

/** A loopback URL on which nothing listens. */
export async function closedPortUrl(): Promise<string> {
  const listening = await listenOnFreePort(() => undefined);
  await listening.close();
  return listening.url;
}
