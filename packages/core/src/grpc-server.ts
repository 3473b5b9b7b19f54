import { Server } from '@grpc/grpc-js';
import { guardMalformedRequests } from './grpc-malformed.ts';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import { packageDefinition, DEFAULT_MAX_MESSAGE_BYTES } from './proto.ts';
import type { Logger } from './logger.ts';
import { silentLogger } from './logger.ts';
import { authServerInterceptor } from './auth/interceptors.ts';
import type { AccessRules } from './auth/interceptors.ts';
import type { Authenticator } from './auth/token.ts';
import { serverCredentials } from './auth/security.ts';
import type { ServerTls } from './auth/security.ts';

/** A service to register: its definition, implementation and full name for health checks. */
export interface ServiceBinding {
  /** Fully-qualified service name, e.g. `distrain.v1.DataLoaderService`. */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

/** Options of {@link startGrpcServer}. */
export interface GrpcServerOptions {
  services: ServiceBinding[];
  /** Address to bind. @default '127.0.0.1:0' (a free port on loopback) */
  address?: string;
  /** Largest message accepted or sent. @default 64 MiB */
  maxMessageBytes?: number;
  logger?: Logger;
  /**
   * Checks every call's credential before its handler runs (health and reflection stay open);
   * `rules` say which methods take a job credential. @default none: every call is accepted
   */
  auth?: { authenticator: Authenticator; rules: AccessRules };
  /** Serve TLS (mutual with `clientAuth`) instead of plaintext. @default plaintext */
  tls?: ServerTls;
}

/** A running gRPC server with health and reflection. */
export interface RunningGrpcServer {
  server: Server;
  /** Port actually bound. */
  port: number;
  /** `host:port` clients can dial. */
  address: string;
  health: HealthImplementation;
  /** Marks NOT_SERVING, lets in-flight calls finish for up to `graceMs`, then forces the rest. */
  shutdown(graceMs?: number): Promise<void>;
}

/**
 * Starts a gRPC server with the given services plus `grpc.health.v1.Health` (every service and the
 * overall "" entry SERVING) and server reflection (v1 and v1alpha) for grpcurl and friends.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const logger = options.logger ?? silentLogger();
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const server = new Server({
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': maxBytes,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    ...(options.auth
      ? { interceptors: [authServerInterceptor(options.auth.authenticator, options.auth.rules)] }
      : {}),
  });
  const statuses: Record<string, 'SERVING'> = { '': 'SERVING' };
  for (const s of options.services) {
    // Unparsable requests: INVALID_ARGUMENT, not grpc-js's INTERNAL (grpc-malformed.ts).
    const guarded = guardMalformedRequests(s.definition, s.implementation);
    server.addService(guarded.definition, guarded.implementation);
    statuses[s.name] = 'SERVING';
  }
  const health = new HealthImplementation(statuses);
  health.addToServer(server);
  new ReflectionService(packageDefinition()).addToServer(server);

  const address = options.address ?? '127.0.0.1:0';
  const creds = serverCredentials(options.tls);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, creds, (err, p) => (err ? reject(err) : resolve(p)));
  });
  const host = address.slice(0, address.lastIndexOf(':'));
  const dialHost = host === '0.0.0.0' || host === '[::]' || host === '' ? '127.0.0.1' : host;
  logger.info(
    {
      port,
      services: options.services.map((s) => s.name),
      tls: options.tls ? (options.tls.clientAuth ? 'mutual' : 'server') : 'off',
      auth: options.auth?.authenticator.enabled ? 'token' : 'none',
    },
    'grpc server listening',
  );
  return {
    server,
    port,
    address: `${dialHost}:${port}`,
    health,
    shutdown: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        for (const name of Object.keys(statuses)) health.setStatus(name, 'NOT_SERVING');
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
