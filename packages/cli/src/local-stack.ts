import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNNING_COMPILED, mallocEnv, roleEntry } from '@distrain/core';
import type { ParentNotice } from '@distrain/core';
import { compileServices } from './compile.ts';
import type { CompileResult } from './compile.ts';
import { localAuth } from './local-auth.ts';
import { superviseService } from './service-supervisor.ts';
import type { RestartPolicy, SupervisedService } from './service-supervisor.ts';

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
  /**
   * NATS server URL for the coordinator (job events in JetStream, job records in KV) and the shards
   * (checkpoints in the Object Store). @default none: in-process events
   */
  nats?: string;
  /**
   * Coordinator's state folder: ended jobs' final artifacts as files when there is no NATS.
   * @default none: they stay in the coordinator's memory
   */
  stateDir?: string;
  /**
   * The shards' checkpoint folder (shard i uses `<dir>/ps-<i>`; a restarted shard restores from it).
   * @default a temporary folder removed by `stop()`
   */
  checkpointDir?: string;
  /** Transport of PushPull and Pull (env DISTRAIN_DATA_PLANE of every service). @default the services' (zmq) */
  dataPlane?: 'grpc' | 'zmq';
  /** Deployment token every service requires (see local-auth.ts). @default a fresh random one */
  token?: string;
  /**
   * Restart a dead data-loader or parameter-server shard (and the coordinator, with
   * `superviseCoordinator`) on the same ports, as Kubernetes restarts a pod. @default the policy's defaults
   */
  restartPolicy?: RestartPolicy;
  /** Restart the coordinator too (`distrain up`; `run` ends with its job). @default false */
  superviseCoordinator?: boolean;
  /**
   * Receives every service death, restart and giving up (after it went to the coordinator, which
   * adds it to the events of every active job). @default drop
   */
  onNotice?: (notice: ParentNotice) => void;
  /**
   * Extra folders the data-loader may read datasets from (`--data-root`; e.g. the spec's folder for
   * `distrain run`), besides the current folder and the examples. Ignored when the user set
   * DISTRAIN_DATA_ROOTS. @default none
   */
  dataRoots?: readonly string[];
  /**
   * Run the services as JavaScript compiled from the current sources (compile.ts; their start-up
   * costs a fraction of tsx's), or through tsx. Env DISTRAIN_COMPILE=0 sets false.
   * @default true, unless the sources cannot be transpiled (then tsx, which reports why)
   */
  compiled?: boolean;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Compiled services when asked (default) and the sources transpile; a compiled CLI runs them so anyway. */
async function chooseCode(wanted: boolean | undefined): Promise<LocalStack['code']> {
  if (RUNNING_COMPILED) return { compiled: true };
  if (!(wanted ?? process.env.DISTRAIN_COMPILE !== '0')) return { compiled: false };
  const compile = await compileServices(ROOT);
  return { compiled: compile.ok, compile };
}

/** One line for people: how the services run, and why not compiled when they could not be. */
export function describeCode(code: LocalStack['code']): string {
  const c = code.compile;
  if (code.compiled)
    return c === undefined || c.transpiled === 0
      ? 'services: compiled JavaScript'
      : `services: compiled JavaScript (sources changed: ${c.transpiled} transpiled in ${c.ms} ms)`;
  return c?.ok === false
    ? `services: TypeScript through tsx, slower to start (could not transpile: ${c.reason}; DISTRAIN_COMPILE=0 silences this)`
    : 'services: TypeScript through tsx (DISTRAIN_COMPILE=0)';
}

/** The loader's `--data-root` arguments: the current folder, the examples, and `extra`. */
function dataRootArgs(extra: readonly string[]): string[] {
  if (process.env.DISTRAIN_DATA_ROOTS) return [];
  const roots = [process.cwd(), fileURLToPath(new URL('../../../examples', import.meta.url)), ...extra];
  return roots.flatMap((r) => ['--data-root', r]);
}

/**
 * The embedded stack: data-loader, parameter-server shards and coordinator as local processes, each
 * linked to this process (they exit when it dies, even by SIGKILL) and restarted when they die.
 */
export interface LocalStack {
  coordinator: string;
  loader: string;
  ps: string[];
  /**
   * `/metrics` ports (host as the services'), each chosen freely. The coordinator's also serves
   * `/sd/workers`: the trainers' and evaluators' endpoints for Prometheus `http_sd_configs`.
   */
  metricsPorts: { coordinator: number; loader: number; ps: number[] };
  /** The deployment token the services require (`authorization: Bearer`). */
  token: string;
  /** The supervised services (their current processes, restarts), for tests and tools. */
  services: readonly SupervisedService[];
  /** How the services run: compiled (and what compiling took) or through tsx (and why). */
  code: { compiled: boolean; compile?: CompileResult };
  stop(): Promise<void>;
}

/** Starts the services of `distrain run` / `distrain up`, supervised; `stop()` ends them all (SIGTERM, then SIGKILL). */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const auth = localAuth(options.token);
  const code = await chooseCode(options.compiled);
  const host = options.host ?? '127.0.0.1';
  const started: SupervisedService[] = [];
  let coordinator: SupervisedService | undefined;
  const env = {
    DISTRAIN_LOG_LEVEL: options.logLevel ?? 'warn',
    // The services (and through the coordinator the workers) start with distrain's malloc settings.
    ...mallocEnv(process.env),
    ...(options.dataPlane ? { DISTRAIN_DATA_PLANE: options.dataPlane } : {}),
    ...auth.env,
  };
  const onNotice = (notice: ParentNotice): void => {
    // The coordinator puts it in every active job's events (and it cannot hear of its own death);
    // with a callback, a failed send cannot become an 'error' event that ends the CLI.
    const child = coordinator?.child;
    if (child?.connected && notice.service !== 'coordinator') child.send(notice, () => undefined);
    options.onNotice?.(notice);
  };
  const noRestarts: RestartPolicy = { maxRestarts: 0 };
  const start = async (
    name: string,
    role: string,
    args: string[],
    supervised = true,
  ): Promise<SupervisedService> => {
    const service = await superviseService(
      {
        name,
        ...roleEntry(role, code.compiled),
        args,
        env,
        host,
        ...(options.onLog ? { onLog: options.onLog } : {}),
      },
      supervised ? (options.restartPolicy ?? {}) : noRestarts,
      onNotice,
    );
    started.push(service);
    return service;
  };
  const checkpointRoot = options.checkpointDir ?? (await mkdtemp(join(tmpdir(), 'distrain-checkpoints-')));
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((s) => s.stop()));
    if (options.checkpointDir === undefined) await rm(checkpointRoot, { recursive: true, force: true });
  };
  try {
    const shards = Math.max(1, options.shards ?? 1);
    const [loader, ...ps] = await Promise.all([
      start('data-loader', 'data-loader', [
        ...['--host', host, '--port', '0', '--metrics-port', '0'],
        ...dataRootArgs(options.dataRoots ?? []),
      ]),
      ...Array.from({ length: shards }, (_, i) =>
        start(`parameter-server-${i}`, 'parameter-server', [
          ...['--host', host, '--port', '0', '--shard-index', String(i), '--metrics-port', '0'],
          ...['--checkpoint-dir', join(checkpointRoot, `ps-${i}`)],
          ...(options.nats ? ['--nats', options.nats] : []),
        ]),
      ),
    ]);
    coordinator = await start(
      'coordinator',
      'coordinator',
      [
        '--host',
        host,
        '--port',
        String(options.coordinatorPort ?? 0),
        '--loader',
        (loader as SupervisedService).address,
        '--ps',
        ps.map((p) => p.address).join(','),
        '--metrics-port',
        '0',
        ...(options.nats ? ['--nats', options.nats] : []),
        ...(options.stateDir ? ['--state-dir', options.stateDir] : []),
      ],
      options.superviseCoordinator ?? false,
    );
    return {
      coordinator: coordinator.address,
      loader: (loader as SupervisedService).address,
      ps: ps.map((p) => p.address),
      metricsPorts: {
        coordinator: coordinator.metricsPort,
        loader: (loader as SupervisedService).metricsPort,
        ps: ps.map((p) => p.metricsPort),
      },
      token: auth.token,
      services: started,
      code,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
