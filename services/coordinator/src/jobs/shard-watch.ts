import { status as GrpcStatus } from '@grpc/grpc-js';
import { JobStates, isServiceError } from '@distrain/core';
import { resolveOptimizerSchedule } from '@distrain/core/ps';
import type { PsInitOptions, PsShardInit } from '@distrain/core/ps';
import type { CancelTimer } from '../ports.ts';
import type { JobBook } from './book.ts';
import type { JobEnds } from './lifecycle.ts';
import { scheduleContext } from './record.ts';
import type { JobRecord } from './record.ts';

/** Options of {@link ShardWatch}. */
export interface ShardWatchOptions {
  /** How often each running job's shards are checked. @default 1000 */
  intervalMs?: number;
  /** How long a job's shards may stay unreachable before the job fails. @default 120000 */
  maxOutageMs?: number;
}

/** The InitJob options of a job, as its start sends them (derived from the record). */
export function psInitOptions(record: JobRecord): PsInitOptions {
  const { spec } = record.job;
  return {
    seed: spec.seed,
    optimizer: resolveOptimizerSchedule(spec.optimizer, scheduleContext(record)),
    worldSize: spec.trainers.replicas,
    stepsPerEpoch: record.stepsPerEpoch,
    checkpointEverySteps: spec.checkpoint.everySteps,
    ...(record.initialValues === undefined ? {} : { initialValues: record.initialValues }),
    ...(spec.checkpoint.dir === undefined ? {} : { checkpointDir: `${spec.checkpoint.dir}/${record.id}` }),
  };
}

/**
 * What to do after every shard of a job answered InitJob{resume}: nothing when they agree and none
 * restarted, or when they differ without a restart for the first time (a step is applied on one
 * shard a moment before the other: `previous` is the versions of the last check, and only a
 * disagreement seen twice is acted on: a trainer that died between two shards' pushes). Otherwise
 * the version every shard must be at: the newest version every shard holds in checkpoints (or its
 * live state), no newer than any shard's, 0 (the fresh initial state) when there is none.
 * `rollback` is false when the shards already agree on it; `restarted` are the shards that
 * restarted (created by this check, or sitting at the checkpoint they restored).
 */
export function planRecovery(
  seen: readonly PsShardInit[],
  previous?: readonly number[],
): { target: number; rollback: boolean; restarted: PsShardInit[] } | undefined {
  const versions = seen.map((s) => s.version);
  const ceiling = Math.min(...versions);
  const created = seen.filter((s) => s.created);
  const agree = versions.every((v) => v === ceiling);
  if (agree)
    return created.length === 0 ? undefined : { target: ceiling, rollback: false, restarted: created };
  const stuck = previous !== undefined && previous.join(',') === versions.join(',');
  if (created.length === 0 && !stuck) return undefined;
  let target = 0;
  const first = seen[0] as PsShardInit;
  for (const v of new Set([...first.checkpointVersions, first.version])) {
    if (v > ceiling || v <= target) continue;
    if (seen.every((s) => s.version === v || s.checkpointVersions.includes(v))) target = v;
  }
  const restarted =
    created.length > 0
      ? created
      : seen.filter((s) => s.version === ceiling && s.restoredVersion > 0 && s.restoredVersion === s.version);
  return { target, rollback: true, restarted };
}

/**
 * Watches the parameter-server shards of running jobs: every `intervalMs` each job's shards get
 * InitJob{resume} (idempotent on a shard that holds the job). A shard that restarted empty is
 * re-initialized by that call from its newest checkpoint; when the shards then disagree, every shard
 * is rolled back to the newest version they all hold, so a multi-shard step stays atomic from the
 * trainers' view. The job's events say what happened; shards unreachable for `maxOutageMs` fail it.
 */
export class ShardWatch {
  private readonly intervalMs: number;
  private readonly maxOutageMs: number;
  private cancel: CancelTimer | undefined;
  private readonly busy = new Set<string>();
  private readonly downSince = new Map<string, number>();
  /** Per job: the shards' versions at the last check (a disagreement is acted on when seen twice). */
  private readonly lastVersions = new Map<string, number[]>();
  /** Every recovery done: the version the job went back to and the steps it redoes. */
  readonly recoveries: { jobId: string; target: number; redoneSteps: number }[] = [];

  constructor(
    private readonly book: JobBook,
    private readonly ends: JobEnds,
    options: ShardWatchOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.maxOutageMs = options.maxOutageMs ?? 120_000;
  }

  start(): void {
    this.cancel ??= this.book.clock.setInterval(() => {
      for (const record of this.book.jobs.values()) {
        if (record.state === JobStates.running && record.ps && !this.busy.has(record.id))
          void this.check(record);
      }
    }, this.intervalMs);
  }

  close(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  /** One check of a job's shards (public for tests); never throws. */
  async check(record: JobRecord): Promise<void> {
    const ps = record.ps;
    if (!ps) return;
    this.busy.add(record.id);
    try {
      const options = { ...psInitOptions(record), resume: true };
      let seen: PsShardInit[];
      try {
        seen = await ps.ensure(options);
      } catch (err) {
        if (record.state !== JobStates.running) return;
        const now = this.book.clock.now();
        const since = this.downSince.get(record.id) ?? now;
        this.downSince.set(record.id, since);
        if (now - since >= this.maxOutageMs) {
          this.ends.fail(
            record,
            `parameter server unreachable for ${Math.round((now - since) / 1000)} s: ${(err as Error).message}`,
          );
        }
        return;
      }
      this.downSince.delete(record.id);
      const plan = planRecovery(seen, this.lastVersions.get(record.id));
      this.lastVersions.set(
        record.id,
        seen.map((s) => s.version),
      );
      if (!plan || record.state !== JobStates.running) return;
      this.lastVersions.delete(record.id);
      const reached = Math.max(Number(record.progress.globalStep ?? 0), ...seen.map((s) => s.version));
      if (plan.rollback) await ps.ensure({ ...options, rollbackTo: plan.target });
      const who = plan.restarted.map((s) => s.shardIndex).join(', ');
      const from =
        plan.restarted.length === 0
          ? `parameter-server shards disagreed (versions ${seen.map((s) => s.version).join(', ')})`
          : `parameter server shard ${who} restarted; restored from step ${Math.min(...plan.restarted.map((s) => s.restoredVersion))}`;
      const redo = Math.max(0, reached - plan.target);
      this.book.log(
        record,
        'warn',
        `${from}; ${plan.rollback ? `every shard rolled back to step ${plan.target}` : `resuming at step ${plan.target}`}, redoing ${redo} steps`,
      );
      record.progress = { ...record.progress, globalStep: plan.target };
      this.recoveries.push({ jobId: record.id, target: plan.target, redoneSteps: redo });
    } catch (err) {
      this.book.log(record, 'warn', `parameter-server recovery failed: ${(err as Error).message}`);
      // FAILED_PRECONDITION: no checkpoint of the version every shard needs; nothing to wait for.
      if (isServiceError(err) && err.code === GrpcStatus.FAILED_PRECONDITION)
        this.ends.fail(record, `parameter-server recovery failed: ${err.details}`);
    } finally {
      this.busy.delete(record.id);
    }
  }
}
