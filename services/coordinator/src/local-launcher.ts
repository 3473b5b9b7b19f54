import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { LINKED_STDIO, WORKER_CONFIG_ENV, mallocEnv, roleEntry } from '@distrain/core';
import type { Logger, WorkerConfig } from '@distrain/core';
import type { Launcher, WorkerExit, WorkerHandle } from './launcher.ts';

/** Options of {@link LocalLauncher}. */
export interface LocalLauncherOptions {
  logger: Logger;
  /** Called with every stderr/stdout line of a worker (forwarded as job log events). */
  onLog?: (config: WorkerConfig, line: string) => void;
  /** Extra environment for workers. */
  env?: Record<string, string>;
  /** Grace period between SIGTERM and SIGKILL. @default 5000 */
  stopGraceMs?: number;
}

/** Runs workers as local child processes (`distrain run` / `distrain up`). */
/** The coordinator's env without its own secrets: a worker holds only its job's credential. */
function workerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of [
    'DISTRAIN_AUTH_TOKEN',
    'DISTRAIN_AUTH_TOKEN_FILE',
    'DISTRAIN_TLS_KEY',
    'DISTRAIN_TLS_CERT',
  ])
    delete out[k];
  return out;
}

export class LocalLauncher implements Launcher {
  readonly kind = 'local';
  /** Workers are linked child processes: they exit with this coordinator (parent-link.ts). */
  readonly workersOutliveCoordinator = false;
  private readonly jobs = new Map<string, Set<LocalWorker>>();

  constructor(private readonly options: LocalLauncherOptions) {}

  launch(config: WorkerConfig, attempt: number): Promise<WorkerHandle> {
    const { entry, execArgv } = roleEntry(config.role);
    const child = spawn(process.execPath, [...execArgv, entry], {
      env: {
        ...workerEnv(process.env),
        ...mallocEnv(process.env),
        ...this.options.env,
        [WORKER_CONFIG_ENV]: JSON.stringify(config),
      },
      // Linked: the worker exits at once when this coordinator dies, even by SIGKILL (parent-link.ts).
      stdio: [...LINKED_STDIO],
    });
    const worker = new LocalWorker(
      child,
      `${config.jobId}/${config.role}-${config.rank}#${attempt}`,
      this.options.stopGraceMs ?? 5_000,
    );
    for (const stream of [child.stdout as Readable, child.stderr as Readable]) {
      createInterface({ input: stream }).on('line', (line) => {
        worker.remember(line);
        this.options.onLog?.(config, line);
      });
    }
    let set = this.jobs.get(config.jobId);
    if (!set) this.jobs.set(config.jobId, (set = new Set()));
    set.add(worker);
    const jobSet = set;
    void worker.exited.then(() => jobSet.delete(worker));
    this.options.logger.info(
      { jobId: config.jobId, role: config.role, rank: config.rank, pid: child.pid, attempt },
      'worker launched',
    );
    return Promise.resolve(worker);
  }

  async stopJob(jobId: string): Promise<void> {
    const set = this.jobs.get(jobId);
    if (!set) return;
    await Promise.all([...set].map((w) => w.stop()));
    this.jobs.delete(jobId);
  }
}

class LocalWorker implements WorkerHandle {
  readonly exited: Promise<WorkerExit>;
  private readonly lastLines: string[] = [];

  constructor(
    private readonly child: ChildProcess,
    readonly id: string,
    private readonly graceMs: number,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => resolve({ code: null, reason: `could not start: ${err.message}` }));
      child.once('exit', (code, signal) =>
        resolve({
          code,
          reason: signal
            ? `killed by ${signal}`
            : code === 0
              ? 'exited'
              : `exit code ${code}: ${this.lastError()}`,
        }),
      );
    });
  }

  remember(line: string): void {
    this.lastLines.push(line);
    if (this.lastLines.length > 20) this.lastLines.shift();
  }

  /** The last error message the worker logged (JSON logs: `msg`/`err.message`). */
  private lastError(): string {
    for (let i = this.lastLines.length - 1; i >= 0; i--) {
      const line = this.lastLines[i] ?? '';
      try {
        const parsed = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
        if ((parsed.level ?? 0) >= 50) return parsed.err?.message ?? parsed.msg ?? line;
      } catch {
        if (/error/i.test(line)) return line;
      }
    }
    return this.lastLines.at(-1) ?? 'no output';
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), this.graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
