import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from './logger';

/** Binds the app; resolves once the port is open. */
export function listen(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
    // Longer than nginx's and the gateway agent's idle timeouts, so the proxy, not us, closes idle connections.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
  });
}

export interface ShutdownOptions {
  logger: Logger;
  /** In-flight requests get this long to finish before their connections are cut. */
  timeoutMs: number;
  /** Releases everything else (pools, breakers) once the server is closed. */
  onClose: () => Promise<void>;
  exit?: (code: number) => void;
}

/**
 * A shutdown procedure: stop accepting, let in-flight requests finish up to
 * the deadline (then cut what remains), release resources. Runs once.
 */
export function createGracefulShutdown(server: Server, options: Omit<ShutdownOptions, 'exit'>): () => Promise<void> {
  let shuttingDown: Promise<void> | undefined;
  return () => {
    shuttingDown ??= (async () => {
      options.logger.info('shutting down');
      const forceTimer = setTimeout(() => {
        options.logger.warn('shutdown deadline reached; closing remaining connections');
        server.closeAllConnections();
      }, options.timeoutMs);
      forceTimer.unref();
      // close() drops connections idle right now; ones busy now turn idle when their response ends, so sweep.
      const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
      idleSweep.unref();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      clearTimeout(forceTimer);
      clearInterval(idleSweep);
      await options.onClose();
      options.logger.info('stopped');
    })();
    return shuttingDown;
  };
}

/**
 * On SIGTERM or SIGINT: the graceful shutdown, then exit 0. The same signal
 * again (Ctrl-C pressed twice) exits at once. The other one is the same
 * request, not impatience: on Ctrl-C under `npm start` the terminal sends
 * SIGINT to every process and the launcher then sends SIGTERM.
 */
export function installGracefulShutdown(server: Server, options: ShutdownOptions): () => Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const shutdown = createGracefulShutdown(server, options);
  let firstSignal: NodeJS.Signals | undefined;

  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignal === signal) {
      options.logger.warn('second signal; exiting now', { signal });
      exit(1);
      return;
    }
    if (firstSignal) return;
    firstSignal = signal;
    shutdown().then(
      () => exit(0),
      (err: unknown) => {
        options.logger.error('shutdown failed', { err });
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return shutdown;
}
