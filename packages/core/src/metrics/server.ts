import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** An extra JSON route served beside `/metrics` (the coordinator's scrape-target discovery). */
export type JsonRoute = () => unknown;

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  registry: Registry;
  /** Port to bind; 0 takes any free port (read it from the result). */
  port: number;
  /** Address to bind. @default '127.0.0.1' */
  host?: string;
  /** Extra GET routes answering JSON, by path (e.g. `/sd/workers`). @default none */
  routes?: Record<string, JsonRoute>;
}

/** A running `/metrics` endpoint. */
export interface MetricsServer {
  /** The bound port. */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves the registry's exposition on `GET /metrics` (plus `/healthz` and any JSON routes) over
 * plain HTTP, as Prometheus scrapes it. Every service's main.ts starts one on `--metrics-port`.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry } = options;
  const routes = options.routes ?? {};
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        (err: unknown) =>
          res
            .writeHead(500, { 'content-type': 'text/plain' })
            .end(`collecting metrics failed: ${(err as Error).message}\n`),
      );
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    const route = routes[path];
    if (route) {
      try {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(route()));
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
      }
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
  };
  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A scraper's keep-alive connection must not hold shutdown up.
  server.keepAliveTimeout = 5_000;
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
