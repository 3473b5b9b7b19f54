import { AbortedError, StateError, TimeoutError } from '@distrain/core';
import { waitUntilDeadline } from './wait.ts';
import type { CallContext } from './wait.ts';

/** What the barrier needs of a rank's contribution (the push's decoded payload). */
export interface BarrierContribution {
  sampleCount: number;
}

/** What a completed (or already applied) step answers. */
export interface BarrierHooks<C extends BarrierContribution, R> {
  /**
   * Optional work before step `step` can be applied, from the same contributions (e.g. the global
   * gradient norm across shards, for clipping): a number is used at once; a promise makes the step
   * "completing" (later pushes of it only wait) until it settles. On rejection every waiting push
   * fails with the error and the contributions stay, so the pushes' retries complete the step.
   * Without the hook the value is NaN.
   */
  prepare?(ordered: C[], step: number): number | Promise<number>;
  /**
   * Applies step `version - 1` from the contributions in rank order; `version` is already the new
   * one. `waiting` is how many pushes will be answered with the result; `prepared` is what
   * `prepare` gave (NaN without it). Synchronous on purpose.
   */
  complete(ordered: C[], version: number, waiting: number, prepared: number): R;
  /** The answer to a push of a step already applied (a retry after a lost response). */
  current(): R;
}

interface Waiter<R> {
  rank: number;
  resolve(res: R): void;
  reject(err: Error): void;
}

interface PendingStep<C, R> {
  step: number;
  contributions: Map<number, C>;
  waiters: Set<Waiter<R>>;
  /** `prepare` is in flight: the step is being completed. */
  completing?: boolean;
}

/**
 * The synchronous-SGD step barrier of one job on one shard: collects one contribution per live rank
 * for the step at `version`, completes the step when every member has pushed, and answers every
 * waiting push with the same result.
 *
 * Rules (unit-tested in barrier.test.ts):
 * - a push of an applied step (`step < version`) is answered with `current()`, never applied twice;
 * - a push ahead of the barrier (`step > version`) or from a non-member is refused (StateError);
 * - a duplicate push for the pending step keeps the first contribution and waits too;
 * - a contribution stays after its call timed out or was cancelled, so a retry only waits and the
 *   step can still complete when the other ranks arrive;
 * - a member change drops evicted ranks' contributions, fails their waiters, and completes the step
 *   when the remaining members have all pushed.
 */
export class StepBarrier<C extends BarrierContribution, R> {
  /** Applied steps. */
  version: number;
  /** Live ranks, ascending: the aggregation order. */
  private memberList: number[];
  private pending: PendingStep<C, R> | undefined;

  constructor(
    private readonly jobId: string,
    worldSize: number,
    private readonly hooks: BarrierHooks<C, R>,
    version = 0,
  ) {
    this.version = version;
    this.memberList = Array.from({ length: worldSize }, (_, i) => i);
  }

  get members(): readonly number[] {
    return this.memberList;
  }

  /**
   * Whether a push of `rank` would be counted for `step`: it is the pending step, the rank has none
   * yet, and the step is not completing (its contributions, an evicted rank's too, are captured for
   * the apply: a push decoded into a rank's staging arrays then would change what is applied).
   */
  counts(rank: number, step: number): boolean {
    const pending = this.pending;
    if (pending === undefined) return step === this.version;
    return step === pending.step && pending.completing !== true && !pending.contributions.has(rank);
  }

  /** Ranks that pushed the pending step (empty when none is pending). */
  pushed(): number[] {
    return this.pending ? [...this.pending.contributions.keys()] : [];
  }

  /** Offers `rank`'s contribution to `step`; resolves with the step's result once applied. */
  push(rank: number, step: number, contribution: C, ctx: CallContext): Promise<R> {
    if (!this.memberList.includes(rank)) {
      throw new StateError(
        `rank ${rank} is not a member of job ${this.jobId} (evicted?); members: ${this.memberList.join(',')}`,
        { jobId: this.jobId, step, field: 'rank' },
      );
    }
    // Already applied (a retry after a lost response): never apply twice, answer with what is current.
    if (step < this.version) return Promise.resolve(this.hooks.current());
    if (step > this.version) {
      throw new StateError(
        `step ${step} is ahead of the barrier (job ${this.jobId} is at step ${this.version})`,
        { jobId: this.jobId, step, field: 'step' },
      );
    }
    this.pending ??= { step, contributions: new Map(), waiters: new Set() };
    const pending = this.pending;
    // A duplicate push for the pending step replaces nothing (the first one counts) and waits too.
    if (!pending.contributions.has(rank)) pending.contributions.set(rank, contribution);
    const result = waitUntilDeadline<R, Waiter<R>>(
      ctx,
      (resolve, reject) => ({ rank, resolve, reject }),
      (w) => pending.waiters.add(w),
      (w) => pending.waiters.delete(w),
      () =>
        new TimeoutError(
          `barrier of step ${step} not complete by the deadline: pushed ${[...pending.contributions.keys()].join(',')}, members ${this.memberList.join(',')}`,
          { jobId: this.jobId, step },
        ),
      () => new AbortedError('call cancelled', { jobId: this.jobId, step }),
    );
    this.maybeComplete();
    return result;
  }

  /** Sets the live ranks; a pending step whose remaining ranks have all pushed completes at once. */
  setMembers(ranks: readonly number[]): number[] {
    const sorted = [...new Set(ranks)].sort((a, b) => a - b);
    this.memberList = sorted;
    const pending = this.pending;
    if (pending) {
      // An evicted rank's slice is re-assigned, so its push (if any) must not count.
      for (const r of [...pending.contributions.keys()])
        if (!sorted.includes(r)) pending.contributions.delete(r);
      for (const w of [...pending.waiters]) {
        if (!sorted.includes(w.rank)) {
          w.reject(
            new StateError(`rank ${w.rank} was evicted from job ${this.jobId}`, {
              jobId: this.jobId,
              step: pending.step,
              field: 'rank',
            }),
          );
        }
      }
      this.maybeComplete();
    }
    return sorted;
  }

  /** Fails every waiting push with `err` and drops the pending step. */
  abort(err: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) for (const w of [...pending.waiters]) w.reject(err);
  }

  private maybeComplete(): void {
    const pending = this.pending;
    if (!pending || pending.completing === true) return;
    for (const r of this.memberList) if (!pending.contributions.has(r)) return;
    // Rank order (members are kept sorted): floating-point sums are then the same on every run.
    const ordered = this.memberList.map((r) => pending.contributions.get(r) as C);
    const prepared = this.hooks.prepare ? this.hooks.prepare(ordered, pending.step) : Number.NaN;
    if (typeof prepared === 'number') {
      this.finish(pending, ordered, prepared);
      return;
    }
    pending.completing = true;
    prepared.then(
      (value) => {
        // Aborted (job ended) meanwhile: nothing to apply.
        if (this.pending === pending) this.finish(pending, ordered, value);
      },
      (err: unknown) => {
        pending.completing = false;
        const e = err instanceof Error ? err : new Error(String(err));
        for (const w of [...pending.waiters]) w.reject(e);
      },
    );
  }

  private finish(pending: PendingStep<C, R>, ordered: C[], prepared: number): void {
    this.pending = undefined;
    this.version += 1;
    const result = this.hooks.complete(ordered, this.version, pending.waiters.size, prepared);
    for (const w of [...pending.waiters]) w.resolve(result);
  }
}
