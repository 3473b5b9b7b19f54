import { parseArgs } from 'node:util';
import { delimiter } from 'node:path';
import type { Registry } from 'prom-client';
import { ValidationError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import type { Logger } from '../logger.ts';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../proto.ts';
import { readWorkerConfig } from '../worker-config.ts';
import { watchParent } from '../parent-link.ts';
import type { ParentNotice } from '../parent-link.ts';
import type { WorkerConfig } from '../worker-config.ts';
import { createRoleRegistry } from '../metrics/registry.ts';
import { startMetricsServer } from '../metrics/server.ts';
import type { MetricsServer, MetricsServerOptions } from '../metrics/server.ts';
import { setDefaultClientSecurity } from '../auth/security.ts';
import { SECURITY_FLAGS, readServiceSecurity } from './security-flags.ts';
import type { ServiceSecurity } from './security-flags.ts';

/** One flag of a service: `--name value`, else the first set env name, else the default. */
export interface FlagSpec {
  env?: string | readonly string[];
  default?: string;
  /** One line for `--help`. */
  help?: string;
  /** Repeatable (`--data-root A --data-root B`): the values joined with `path.delimiter` (`:`). */
  multiple?: boolean;
}

/**
 * The flags every long-running service takes, with the same names in every role (a pod runs one
 * role, so the env names need no role prefix; the older role-prefixed names still work).
 */
export const COMMON_SERVICE_FLAGS = {
  host: { env: 'DISTRAIN_HOST', default: '127.0.0.1', help: 'address to bind' },
  port: {
    env: 'DISTRAIN_PORT',
    default: '0',
    help: 'gRPC port (0: any free port, printed in the listening line)',
  },
  'metrics-port': {
    env: 'DISTRAIN_METRICS_PORT',
    help: 'Prometheus /metrics port (0: any free port; unset: none)',
  },
  'log-level': { env: 'DISTRAIN_LOG_LEVEL', default: 'info', help: 'trace|debug|info|warn|error|fatal' },
  'max-message-bytes': {
    env: 'DISTRAIN_MAX_MESSAGE_BYTES',
    default: String(DEFAULT_MAX_MESSAGE_BYTES),
    help: 'largest gRPC message accepted',
  },
  ...SECURITY_FLAGS,
} as const satisfies Record<string, FlagSpec>;

type CommonFlag = keyof typeof COMMON_SERVICE_FLAGS;

/** Reads flags and env once. Unknown flags and positional arguments are a ValidationError. */
export function readFlags<const K extends string>(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  spec: Record<K, FlagSpec>,
): Record<K, string | undefined> {
  const options: Record<string, { type: 'string'; multiple?: boolean }> = {};
  for (const key of Object.keys(spec))
    options[key] = spec[key as K].multiple ? { type: 'string', multiple: true } : { type: 'string' };
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ValidationError('argv', (err as Error).message, { cause: err });
  }
  const out = {} as Record<K, string | undefined>;
  for (const key of Object.keys(spec) as K[]) {
    const s = spec[key];
    const raw = values[key];
    const v = Array.isArray(raw) ? raw.join(delimiter) : raw;
    const names = s.env === undefined ? [] : typeof s.env === 'string' ? [s.env] : s.env;
    const fromEnv = names.map((n) => env[n]).find((x) => x !== undefined && x !== '');
    out[key] = typeof v === 'string' ? v : (fromEnv ?? s.default);
  }
  return out;
}

/** An integer flag in `[min, max]`, or a ValidationError naming the flag. */
export function intFlag(value: string | undefined, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || value === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new ValidationError(`--${flag}`, `must be an integer in ${min}..${max}, got "${value ?? ''}"`);
  }
  return n;
}

/** What a service's `start` gets: its flags, logger, metrics registry and bind address. */
export interface ServiceContext<K extends string> {
  flags: Record<K | CommonFlag, string | undefined>;
  logger: Logger;
  registry: Registry;
  host: string;
  port: number;
  /** `host:port` (IPv6 hosts bracketed). */
  address: string;
  maxMessageBytes: number;
  /**
   * The service's authenticator and server TLS, for its `startGrpcServer` (its own clients already
   * use `security.client`: it is the process default).
   */
  security: ServiceSecurity;
}

/** A started service. */
export interface StartedService {
  /** The bound gRPC port, printed in the listening line. */
  port: number;
  /** More fields for the listening line (e.g. `dataPort`, `address`). */
  listening?: Record<string, unknown>;
  /** More routes for the metrics server (e.g. `/sd/workers`). */
  metricsRoutes?: MetricsServerOptions['routes'];
  /** Graceful stop on SIGTERM/SIGINT (and when the parent that started it dies). */
  shutdown(): Promise<void>;
  /** A notice from the parent process (the CLI's local stack). @default ignored */
  onParentNotice?(notice: ParentNotice): void;
}

/** After the parent died, the longest a graceful shutdown may take before the process exits anyway. */
export const ORPHAN_SHUTDOWN_MS = 10_000;

/** What {@link runService} runs. */
export interface ServiceDefinition<K extends string> {
  role: string;
  /** Older env names of the common flags for this role, tried before the common ones. */
  envAliases?: Partial<Record<CommonFlag, string | readonly string[]>>;
  /** The role's own flags. */
  flags?: Record<K, FlagSpec>;
  /** Extra logger bindings from the flags (e.g. the shard index). */
  bindings?: (flags: Record<K | CommonFlag, string | undefined>) => Record<string, string | number>;
  start(ctx: ServiceContext<K>): Promise<StartedService>;
}

function fail(role: string, err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${role}: ${message}\n`);
  process.exit(2);
}

/**
 * The one bootstrap of every long-running service (`main.ts` of the coordinator, data-loader and
 * parameter server): reads and validates the common and the role's flags (bad ones exit 2 naming
 * the flag), creates the logger and the metrics registry, starts the service, serves `/metrics`
 * when asked, prints `{"event":"listening","port":N,...}` on stdout for a parent process, and on
 * SIGTERM/SIGINT runs the service's shutdown once, then exits 0 (1 if it failed). A service started
 * by a local parent (`parent-link.ts`) shuts down the same way when that parent dies.
 */
export async function runService<const K extends string = never>(def: ServiceDefinition<K>): Promise<void> {
  const spec = { ...COMMON_SERVICE_FLAGS } as Record<string, FlagSpec>;
  for (const [name, alias] of Object.entries(def.envAliases ?? {}) as [CommonFlag, string | string[]][]) {
    const own = COMMON_SERVICE_FLAGS[name];
    spec[name] = { ...own, env: [...(typeof alias === 'string' ? [alias] : alias), own.env] };
  }
  Object.assign(spec, def.flags ?? {});
  let flags: Record<K | CommonFlag, string | undefined>;
  let port: number;
  let maxMessageBytes: number;
  let metricsPort: number | undefined;
  try {
    flags = readFlags(process.argv.slice(2), process.env, spec) as Record<K | CommonFlag, string | undefined>;
    port = intFlag(flags.port, 'port', 0, 65_535);
    maxMessageBytes = intFlag(flags['max-message-bytes'], 'max-message-bytes', 1024, 2 ** 31 - 1);
    metricsPort =
      flags['metrics-port'] === undefined
        ? undefined
        : intFlag(flags['metrics-port'], 'metrics-port', 0, 65_535);
  } catch (err) {
    fail(def.role, err);
  }
  const host = flags.host ?? '127.0.0.1';
  const logger = createLogger({
    role: def.role,
    level: flags['log-level'] ?? 'info',
    ...(def.bindings ? { bindings: def.bindings(flags) } : {}),
  });
  let security: ServiceSecurity;
  try {
    security = readServiceSecurity(flags, process.env, logger);
  } catch (err) {
    fail(def.role, err);
  }
  setDefaultClientSecurity(security.client);
  const registry = createRoleRegistry();
  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
  let started: StartedService;
  try {
    started = await def.start({ flags, logger, registry, host, port, address, maxMessageBytes, security });
  } catch (err) {
    if (err instanceof ValidationError) fail(def.role, err);
    logger.fatal({ err }, `${def.role} failed to start`);
    process.exit(1);
  }
  let metricsServer: MetricsServer | undefined;
  if (metricsPort !== undefined) {
    metricsServer = await startMetricsServer({
      registry,
      host,
      port: metricsPort,
      ...(started.metricsRoutes ? { routes: started.metricsRoutes } : {}),
    });
  }
  process.stdout.write(
    `${JSON.stringify({
      event: 'listening',
      port: started.port,
      ...started.listening,
      ...(metricsServer ? { metricsPort: metricsServer.port } : {}),
    })}\n`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${def.role} shutting down`);
    Promise.all([started.shutdown(), metricsServer?.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, `${def.role} shutdown failed`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // Started by a local parent (`distrain up`/`run`): its death is a SIGTERM, bounded in time.
  watchParent({
    onLoss: () => {
      logger.warn('the parent process is gone; shutting down');
      setTimeout(() => process.exit(1), ORPHAN_SHUTDOWN_MS).unref();
      stop('parent-exit');
    },
    ...(started.onParentNotice ? { onNotice: (n: ParentNotice) => started.onParentNotice?.(n) } : {}),
  });
}

/** What a worker's `run` gets. */
export interface WorkerContext<M> {
  config: WorkerConfig;
  logger: Logger;
  metrics: M;
  /** The bound `/metrics` port (reported in heartbeats), when the coordinator asked for one. */
  metricsPort?: number;
}

/**
 * The one bootstrap of the job workers (trainer, evaluator): reads the WorkerConfig from the env,
 * creates the logger and the role's metrics, serves `/metrics` where the coordinator says, runs the
 * worker, and exits 0 when it returns, 1 when it throws (logged; or the code `exitCode` maps the
 * error to, e.g. `EXIT_CONFIG` for a failure that every restart would repeat), 143 on SIGTERM or
 * when the local coordinator that launched it dies.
 */
export async function runWorker<M>(def: {
  role: string;
  metrics: (registry: Registry, config: WorkerConfig) => M;
  run(ctx: WorkerContext<M>): Promise<void>;
  /** The exit code for an error `run` threw; undefined: 1. */
  exitCode?: (err: unknown) => number | undefined;
}): Promise<void> {
  let config: WorkerConfig;
  try {
    config = readWorkerConfig(process.env);
  } catch (err) {
    fail(def.role, err);
  }
  const logger = createLogger({
    role: def.role,
    level: process.env['DISTRAIN_LOG_LEVEL'] ?? 'info',
    bindings: { jobId: config.jobId, ...(def.role === 'trainer' ? { rank: config.rank } : {}) },
  });
  // Every call of this worker carries its job's credential, over TLS when the coordinator says so.
  setDefaultClientSecurity({
    ...(config.token ? { token: config.token } : {}),
    ...(config.tls ? { tls: config.tls } : {}),
  });
  process.once('SIGTERM', () => process.exit(143));
  // Launched by a local coordinator: exit at once when it dies (SIGKILL included), as on SIGTERM.
  watchParent({
    onLoss: () => {
      logger.warn('the coordinator process that launched this worker is gone; exiting');
      process.exit(143);
    },
  });
  try {
    const registry = createRoleRegistry();
    const metrics = def.metrics(registry, config);
    // The coordinator says where to serve /metrics (port 0: any free port, reported in heartbeats).
    const server = config.metrics
      ? await startMetricsServer({ registry, host: config.metrics.host, port: config.metrics.port })
      : undefined;
    if (server) logger.info({ metricsPort: server.port }, 'serving /metrics');
    await def.run({ config, logger, metrics, ...(server ? { metricsPort: server.port } : {}) });
    process.exit(0);
  } catch (err) {
    logger.error({ err }, `${def.role} failed`);
    process.exit(def.exitCode?.(err) ?? 1);
  }
}
