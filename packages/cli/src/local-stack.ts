import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { roleEntry, startServiceProcess } from '@distrain/core';

/** A service started as a local child process. */
interface LocalService {
  name: string;
  child: ChildProcess;
  address: string;
  /** Port of its Prometheus `/metrics` endpoint. */
  metricsPort: number;
}

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  /** Parameter-server shards. @default 1 */
  shards?: number;
  /** Coordinator port. @default 0 (any free port) */
  coordinatorPort?: number;
  /** Address services bind. @default '127.0.0.1' */
  host?: string;
  /** Log level of the services (their JSON logs go to `onLog`). @default 'warn' */
  logLevel?: string;
  /** Receives every log line of every service. @default drop */
  onLog?: (service: string, line: string) => void;
  /** NATS server URL for the coordinator (job events in JetStream, job records in KV). @default none: in-process events */
  nats?: string;
  /** Transport of PushPull and Pull (env DISTRAIN_DATA_PLANE of every service). @default the services' (zmq) */
  dataPlane?: 'grpc' | 'zmq';
  /**
   * Extra folders the data-loader may read datasets from (`--data-root`; e.g. the spec's folder for
   * `distrain run`), besides the current folder and the examples. Ignored when the user set
   * DISTRAIN_DATA_ROOTS. @default none
   */
  dataRoots?: readonly string[];
}

/** The loader's `--data-root` arguments: the current folder, the examples, and `extra`. */
function dataRootArgs(extra: readonly string[]): string[] {
  if (process.env.DISTRAIN_DATA_ROOTS) return [];
  const roots = [process.cwd(), fileURLToPath(new URL('../../../examples', import.meta.url)), ...extra];
  return roots.flatMap((r) => ['--data-root', r]);
}

/** The embedded stack: data-loader, parameter-server shards and coordinator as local processes. */
export interface LocalStack {
  coordinator: string;
  loader: string;
  ps: string[];
  /**
   * `/metrics` ports (host as the services'), each chosen freely. The coordinator's also serves
   * `/sd/workers`: the trainers' and evaluators' endpoints for Prometheus `http_sd_configs`.
   */
  metricsPorts: { coordinator: number; loader: number; ps: number[] };
  stop(): Promise<void>;
}

async function startService(
  name: string,
  role: string,
  args: string[],
  options: LocalStackOptions,
  started: ChildProcess[],
): Promise<LocalService> {
  const service = await startServiceProcess({
    name,
    ...roleEntry(role),
    args,
    env: {
      DISTRAIN_LOG_LEVEL: options.logLevel ?? 'warn',
      ...(options.dataPlane ? { DISTRAIN_DATA_PLANE: options.dataPlane } : {}),
    },
    onLog: (n, line) => options.onLog?.(n, line),
    onSpawn: (child) => started.push(child),
  });
  return {
    name,
    child: service.child,
    address: `${options.host ?? '127.0.0.1'}:${service.port}`,
    metricsPort: service.metricsPort,
  };
}

/** Starts the services of `distrain run` / `distrain up`; `stop()` ends them all (SIGTERM, then SIGKILL). */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  const started: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      started.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    const shards = Math.max(1, options.shards ?? 1);
    const [loader, ...ps] = await Promise.all([
      startService(
        'data-loader',
        'data-loader',
        ['--host', host, '--port', '0', '--metrics-port', '0', ...dataRootArgs(options.dataRoots ?? [])],
        options,
        started,
      ),
      ...Array.from({ length: shards }, (_, i) =>
        startService(
          `parameter-server-${i}`,
          'parameter-server',
          ['--host', host, '--port', '0', '--shard-index', String(i), '--metrics-port', '0'],
          options,
          started,
        ),
      ),
    ]);
    const coordinator = await startService(
      'coordinator',
      'coordinator',
      [
        '--host',
        host,
        '--port',
        String(options.coordinatorPort ?? 0),
        '--loader',
        (loader as LocalService).address,
        '--ps',
        ps.map((p) => p.address).join(','),
        '--metrics-port',
        '0',
        ...(options.nats ? ['--nats', options.nats] : []),
      ],
      options,
      started,
    );
    for (const child of started) child.removeAllListeners('exit');
    return {
      coordinator: coordinator.address,
      loader: (loader as LocalService).address,
      ps: ps.map((p) => p.address),
      metricsPorts: {
        coordinator: coordinator.metricsPort,
        loader: (loader as LocalService).metricsPort,
        ps: ps.map((p) => p.metricsPort),
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
