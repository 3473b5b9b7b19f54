import type { ChildProcess } from 'node:child_process';
import { startServiceProcess } from '@distrain/core';
import type { ParentNotice, ServiceProcess } from '@distrain/core';

/** How a dead service is restarted (Kubernetes' restart policy for a pod, in small). */
export interface RestartPolicy {
  /** Restarts in a row before giving up (a service that stays up `resetAfterMs` starts a new row). @default 5 */
  maxRestarts?: number;
  /** Wait before the first restart of a row; doubled per restart. @default 500 */
  backoffMs?: number;
  /** Longest wait before a restart. @default 10000 */
  maxBackoffMs?: number;
  /** A service up this long is healthy again: the next death is restart 1. @default 60000 */
  resetAfterMs?: number;
}

/** One service to start and keep running. */
export interface SupervisedSpec {
  /** Name in messages (`data-loader`, `parameter-server-0`, `coordinator`). */
  name: string;
  entry: string;
  execArgv: string[];
  /** Its flags at the first start; a restart gets the same, with the ports it bound pinned. */
  args: string[];
  env: Record<string, string>;
  /** The host in `address`. */
  host: string;
  onLog?: (name: string, line: string) => void;
}

/** A service under supervision: the current process, restarted on the same ports when it dies. */
export interface SupervisedService {
  readonly name: string;
  /** host:port of its gRPC server (the same across restarts). */
  readonly address: string;
  readonly port: number;
  readonly metricsPort: number;
  /** The process running now (a new one after each restart). */
  readonly child: ChildProcess;
  /** The flags a restart uses: the first start's, with `--port`, `--metrics-port`, `--data-port` pinned. */
  readonly restartArgs: readonly string[];
  /** Restarts so far. */
  readonly restarts: number;
  /** Stops it for good (SIGTERM, then SIGKILL after `graceMs`); no restart after this. */
  stop(graceMs?: number): Promise<void>;
}

/** `args` with `flag value` set (replaced where present, appended otherwise). */
export function withFlag(args: readonly string[], flag: string, value: string): string[] {
  const out = [...args];
  const i = out.indexOf(flag);
  if (i >= 0 && i + 1 < out.length) out[i + 1] = value;
  else out.push(flag, value);
  return out;
}

/** The first start's flags with the ports it bound, so a restart listens where clients look. */
function pinnedArgs(args: readonly string[], started: ServiceProcess): string[] {
  let out = withFlag(args, '--port', String(started.port));
  if (started.metricsPort > 0) out = withFlag(out, '--metrics-port', String(started.metricsPort));
  const dataPort = started.listening['dataPort'];
  if (typeof dataPort === 'number' && dataPort > 0) out = withFlag(out, '--data-port', String(dataPort));
  return out;
}

function exitReason(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code ?? 'unknown'}`;
}

/**
 * Starts a service and restarts it when it dies, as Kubernetes restarts a pod: on the same ports
 * and with the same flags (a parameter-server shard keeps its `--checkpoint-dir`), after a backoff
 * that doubles per restart, at most `maxRestarts` in a row. Every death, restart and the giving up
 * is reported to `onNotice` (the local stack prints it and forwards it to the coordinator, which
 * adds it to every active job's events).
 */
export async function superviseService(
  spec: SupervisedSpec,
  policy: RestartPolicy,
  onNotice: (notice: ParentNotice) => void,
): Promise<SupervisedService> {
  const maxRestarts = policy.maxRestarts ?? 5;
  const backoffMs = policy.backoffMs ?? 500;
  const maxBackoffMs = policy.maxBackoffMs ?? 10_000;
  const resetAfterMs = policy.resetAfterMs ?? 60_000;
  const start = (args: readonly string[]): Promise<ServiceProcess> =>
    startServiceProcess({
      name: spec.name,
      entry: spec.entry,
      execArgv: spec.execArgv,
      args: [...args],
      env: spec.env,
      ...(spec.onLog ? { onLog: spec.onLog } : {}),
    });
  let current = await start(spec.args);
  let startedAtMs = Date.now();
  const restartArgs = pinnedArgs(spec.args, current);
  const address = `${spec.host}:${current.port}`;
  let restarts = 0;
  let streak = 0;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let restarting: Promise<unknown> | undefined;
  const notice = (type: ParentNotice['type'], level: string, message: string): void =>
    onNotice({ type, service: spec.name, address, level, message });

  const onDeath = (reason: string): void => {
    if (stopping) return;
    if (Date.now() - startedAtMs >= resetAfterMs) streak = 0;
    if (streak >= maxRestarts) {
      notice(
        'service-gave-up',
        'error',
        `${spec.name} at ${address} ${reason}; restarted ${streak} times in a row, giving up`,
      );
      return;
    }
    streak++;
    const delay = Math.min(backoffMs * 2 ** (streak - 1), maxBackoffMs);
    notice(
      'service-down',
      'warn',
      `${spec.name} at ${address} ${reason}; restarting it on the same port in ${(delay / 1000).toFixed(1)} s (restart ${streak} of ${maxRestarts})`,
    );
    timer = setTimeout(() => {
      timer = undefined;
      restarting = start(restartArgs).then(
        (next) => {
          restarting = undefined;
          if (stopping) return next.stop();
          current = next;
          startedAtMs = Date.now();
          restarts++;
          watch(next);
          notice(
            'service-restarted',
            'warn',
            `${spec.name} restarted at ${address} (pid ${next.child.pid}, restart ${streak} of ${maxRestarts})`,
          );
          return undefined;
        },
        (err: unknown) => {
          restarting = undefined;
          onDeath(`failed to restart: ${(err as Error).message.split('\n')[0] ?? ''}`);
        },
      );
    }, delay);
  };
  const watch = (service: ServiceProcess): void => {
    service.child.once('exit', (code, signal) => onDeath(exitReason(code, signal)));
  };
  watch(current);

  return {
    name: spec.name,
    address,
    port: current.port,
    metricsPort: current.metricsPort,
    get child() {
      return current.child;
    },
    restartArgs,
    get restarts() {
      return restarts;
    },
    async stop(graceMs = 10_000) {
      stopping = true;
      if (timer) clearTimeout(timer);
      await restarting;
      await current.stop('SIGTERM', graceMs);
    },
  };
}
