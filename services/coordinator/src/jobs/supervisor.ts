import { EXIT_CONFIG, JobStates, isTerminal } from '@distrain/core';
import type { DatasetInfo, WorkerConfig } from '@distrain/core';
import type { DataPlaneKind } from '@distrain/core/ps';
import type { Launcher } from '../launcher.ts';
import type { CancelTimer } from '../ports.ts';
import type { JobBook } from './book.ts';
import type { JobEnds } from './lifecycle.ts';
import { slotName } from './record.ts';
import type { JobRecord, WorkerSlot } from './record.ts';

/** The credential and TLS material the coordinator hands each job's workers. */
export interface WorkerSecurity {
  /** The job's credential (`jobCredential` of the deployment token; empty: no auth). */
  credential(jobId: string): string;
  /** The services' CA and, under mutual TLS, a client certificate (PEM). */
  tls?: { ca?: string; cert?: string; key?: string };
}

/** Extra time a worker still starting gets: process start plus backend and dataset loading. */
export const STARTING_GRACE_MS = 60_000;

/** Backoff before restart `n` (1-based): 0.5 s, 1 s, 2 s, ... at most 10 s. */
export function restartBackoffMs(restart: number): number {
  return Math.min(500 * 2 ** (restart - 1), 10_000);
}

/** What {@link WorkerSupervisor} needs. */
export interface WorkerSupervisorOptions {
  book: JobBook;
  launcher: Launcher;
  ends: JobEnds;
  /** host:port of the data-loader (for the workers). */
  loaderAddress: string;
  /** host:port workers use to reach this coordinator's WorkerService (known once the server is bound). */
  coordinatorAddress: () => string;
  /** Where launched workers serve `/metrics` (port 0: any free port). @default none */
  workerMetrics?: { host: string; port: number };
  /** Transport of the workers' PushPull and Pull (`WorkerConfig.dataPlane`). @default the workers' default (zmq) */
  dataPlane?: DataPlaneKind;
  /** What workers authenticate with (`WorkerConfig.token`, `.tls`). @default none */
  workerSecurity?: WorkerSecurity;
  /** How often liveness is checked. @default 1000 */
  monitorIntervalMs?: number;
  /** The workers' own time limits (`WorkerConfig.coordinatorLossMs`, `.loaderRetryBudgetMs`). @default the workers' */
  workerLimits?: WorkerLimits;
}

/** How long workers wait for an unreachable coordinator and data-loader (see WorkerConfig). */
export type WorkerLimits = Pick<WorkerConfig, 'coordinatorLossMs' | 'loaderRetryBudgetMs'>;

/**
 * Launches a job's trainers and evaluator, watches their exits and heartbeats (the straggler
 * timeout), and restarts a failed worker with backoff up to the spec's limit; past the limit, or at
 * a trainer's first failure with `onTrainerFailure: fail`, the job fails.
 */
export class WorkerSupervisor {
  private readonly book: JobBook;
  private readonly stopMonitor: CancelTimer;

  constructor(private readonly options: WorkerSupervisorOptions) {
    this.book = options.book;
    this.stopMonitor = this.book.clock.setInterval(
      () => this.checkLiveness(),
      options.monitorIntervalMs ?? 1_000,
    );
  }

  /** Launches every slot of a job. */
  async launchAll(record: JobRecord): Promise<void> {
    await Promise.all([...record.workers.values()].map((slot) => this.launch(record, slot)));
  }

  /**
   * Relaunches a re-adopted job's unfinished workers now (their processes ended with the previous
   * coordinator); not counted as restarts.
   */
  async relaunchUnfinished(record: JobRecord): Promise<void> {
    const slots = [...record.workers.values()].filter((s) => s.status !== 'done' && !s.handle);
    await Promise.all(slots.map((slot) => this.launch(record, slot)));
  }

  private workerConfig(record: JobRecord, slot: WorkerSlot): WorkerConfig {
    return {
      jobId: record.id,
      role: slot.role,
      rank: slot.rank,
      worldSize: record.job.spec.trainers.replicas,
      coordinator: this.options.coordinatorAddress(),
      loader: this.options.loaderAddress,
      psShards: record.psShards,
      job: record.job,
      dataset: record.dataset as DatasetInfo,
      stepsPerEpoch: record.stepsPerEpoch,
      ...(this.options.workerMetrics ? { metrics: this.options.workerMetrics } : {}),
      ...(this.options.dataPlane ? { dataPlane: this.options.dataPlane } : {}),
      ...this.securityOf(record.id),
      ...this.options.workerLimits,
      // A restarted evaluator goes on at the first epoch without a result (none is skipped).
      ...(slot.role === 'evaluator' ? { firstEpoch: firstUnevaluatedEpoch(record) } : {}),
    };
  }

  private securityOf(jobId: string): Pick<WorkerConfig, 'token' | 'tls'> {
    const s = this.options.workerSecurity;
    if (!s) return {};
    const token = s.credential(jobId);
    return { ...(token ? { token } : {}), ...(s.tls ? { tls: s.tls } : {}) };
  }

  private async launch(record: JobRecord, slot: WorkerSlot): Promise<void> {
    if (isTerminal(record.state)) return;
    slot.status = 'starting';
    slot.lastSeenMs = this.book.clock.now();
    const handle = await this.options.launcher.launch(this.workerConfig(record, slot), slot.restarts);
    slot.handle = handle;
    this.book.metrics.launched(slot.role);
    void handle.exited.then((exit) => {
      if (slot.handle !== handle || isTerminal(record.state)) return;
      // A worker stopped for silence ('failed') failed, whatever its exit code says.
      if (exit.code === 0 && slot.status !== 'failed') {
        slot.status = 'done';
        return this.options.ends.maybeFinish(record);
      }
      if (exit.code === EXIT_CONFIG && slot.status !== 'failed') {
        // The worker cannot run this job as configured (e.g. GPUs without a GPU backend): restarts
        // would fail the same way, so the job fails now.
        this.options.ends.fail(record, `${slot.role} ${slot.rank} cannot start: ${exit.reason}`);
        return undefined;
      }
      this.workerFailed(record, slot, slot.status === 'failed' ? 'heartbeat timeout' : exit.reason);
      return undefined;
    });
  }

  private workerFailed(record: JobRecord, slot: WorkerSlot, reason: string): void {
    const { book, ends } = this.options;
    // Detach the handle first: its exit and a liveness stop may both report this one failure.
    slot.handle = undefined;
    const name = `${slot.role} ${slot.role === 'trainer' ? `rank ${slot.rank} ` : ''}`;
    const limit = record.job.spec.fault.maxRestarts;
    if (slot.role === 'trainer' && record.job.spec.fault.onTrainerFailure === 'fail') {
      ends.fail(record, `${name}failed and spec.fault.onTrainerFailure is "fail": ${reason}`);
      return;
    }
    if (slot.restarts >= limit) {
      ends.fail(record, `${name}failed ${slot.restarts + 1} times (restart limit ${limit}): ${reason}`);
      return;
    }
    slot.restarts++;
    slot.status = 'failed';
    slot.metricsPort = 0;
    book.metrics.restarted(record.id, slot.role);
    book.save(record);
    book.log(record, 'warn', `${name}failed (${reason}); restart ${slot.restarts} of ${limit}`);
    const cancel = book.clock.setTimeout(() => {
      void this.launch(record, slot).catch((err: unknown) =>
        ends.fail(record, `relaunch failed: ${(err as Error).message}`),
      );
    }, restartBackoffMs(slot.restarts));
    record.abort.signal.addEventListener('abort', cancel, { once: true });
  }

  /** Stops and restarts the workers of running jobs that sent no heartbeat within the straggler timeout. */
  checkLiveness(): void {
    const now = this.book.clock.now();
    for (const record of this.book.jobs.values()) {
      if (record.state !== JobStates.running) continue;
      const timeout = record.job.spec.fault.stragglerTimeoutMs;
      for (const slot of record.workers.values()) {
        if (slot.status === 'done' || slot.status === 'failed') continue;
        const allowed = slot.status === 'starting' ? timeout + STARTING_GRACE_MS : timeout;
        if (now - slot.lastSeenMs <= allowed) continue;
        slot.status = 'failed';
        const handle = slot.handle;
        this.book.log(
          record,
          'warn',
          `${slotName(slot)} sent no heartbeat for ${Math.round((now - slot.lastSeenMs) / 1000)} s`,
        );
        // A re-adopted worker (coordinator restart) has no handle: relaunch it straight away.
        void (handle ? handle.stop() : Promise.resolve()).then(() => {
          if (slot.handle === handle && !isTerminal(record.state))
            this.workerFailed(record, slot, 'heartbeat timeout');
        });
      }
    }
  }

  /** Stops the liveness monitor. */
  close(): void {
    this.stopMonitor();
  }
}

/** The first epoch the job has no evaluation result for. */
export function firstUnevaluatedEpoch(record: Pick<JobRecord, 'epochs'>): number {
  const done = new Set(record.epochs.map((e) => Number(e.epoch)));
  let e = 1;
  while (done.has(e)) e++;
  return e;
}
