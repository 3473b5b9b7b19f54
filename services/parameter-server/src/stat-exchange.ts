import { AbortedError, StateError, TimeoutError, ValidationError } from '@distrain/core';
import type { ExchangeStatsRequest__Output, ExchangeStatsResponse } from '@distrain/core/ps';
import { waitUntilDeadline } from './wait.ts';
import type { CallContext } from './wait.ts';

/** What the exchange needs of the job's step barrier. */
export interface ExchangeMembership {
  /** Applied steps. */
  readonly version: number;
  /** Live ranks, ascending. */
  readonly members: readonly number[];
}

interface Waiter {
  rank: number;
  resolve(res: ExchangeStatsResponse): void;
  reject(err: Error): void;
}

interface Entry {
  step: number;
  values: Map<number, readonly number[]>;
  waiters: Set<Waiter>;
  /** The answer, once every member sent (kept for retries until the step is applied). */
  result?: ExchangeStatsResponse;
}

/**
 * Synchronized batch norm's all-gather on shard 0 (`ExchangeStats`): per `(step, slot)` one vector per
 * live rank; once every member sent one, every waiting call gets all of them in rank order (so sums
 * over them do not depend on arrival order or on the shard). Like the step barrier: a repeat keeps the
 * first vector and, after completion, gets the same answer; a vector stays after its call timed out,
 * so the retry only waits; a member change drops evicted ranks' vectors and fails their calls. Entries
 * of applied steps are dropped (every rank has pushed such a step, so none will ask again).
 */
export class StatExchange {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly jobId: string,
    private readonly membership: ExchangeMembership,
  ) {}

  /** One rank's vector for `(step, slot)`; resolves with every member's once all sent. */
  exchange(req: ExchangeStatsRequest__Output, ctx: CallContext): Promise<ExchangeStatsResponse> {
    const step = Number(req.step);
    const { members, version } = this.membership;
    if (!members.includes(req.rank)) {
      throw new StateError(
        `rank ${req.rank} is not a member of job ${this.jobId} (evicted?); members: ${members.join(',')}`,
        { jobId: this.jobId, step, field: 'rank' },
      );
    }
    if (step < version) {
      throw new StateError(
        `step ${step} of job ${this.jobId} is already applied (the shard is at step ${version}): its batch statistics are gone`,
        { jobId: this.jobId, step, field: 'step' },
      );
    }
    for (const [key, e] of this.entries) if (e.step < version) this.entries.delete(key);
    const key = `${step}/${req.slot}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { step, values: new Map(), waiters: new Set() };
      this.entries.set(key, entry);
    }
    const e = entry;
    if (e.result !== undefined) return Promise.resolve(e.result);
    const other = e.values.values().next();
    if (!other.done && other.value.length !== req.values.length) {
      throw new ValidationError(
        'values',
        `${req.values.length} values for step ${step} slot ${req.slot}, the other ranks sent ${other.value.length} (do all trainers run the same model?)`,
      );
    }
    if (!e.values.has(req.rank)) e.values.set(req.rank, [...req.values]);
    const result = waitUntilDeadline<ExchangeStatsResponse, Waiter>(
      ctx,
      (resolve, reject) => ({ rank: req.rank, resolve, reject }),
      (w) => e.waiters.add(w),
      (w) => e.waiters.delete(w),
      () =>
        new TimeoutError(
          `batch statistics of step ${step} slot ${req.slot} incomplete by the deadline: sent ${[...e.values.keys()].join(',')}, members ${this.membership.members.join(',')}`,
          { jobId: this.jobId, step },
        ),
      () => new AbortedError('call cancelled', { jobId: this.jobId, step }),
    );
    this.maybeComplete(e);
    return result;
  }

  /** The members changed: drop evicted ranks' vectors, fail their calls, complete what is complete. */
  onMembers(): void {
    const members = this.membership.members;
    for (const e of this.entries.values()) {
      if (e.result !== undefined) continue;
      for (const r of [...e.values.keys()]) if (!members.includes(r)) e.values.delete(r);
      for (const w of [...e.waiters]) {
        if (!members.includes(w.rank))
          w.reject(
            new StateError(`rank ${w.rank} was evicted from job ${this.jobId}`, {
              jobId: this.jobId,
              step: e.step,
              field: 'rank',
            }),
          );
      }
      this.maybeComplete(e);
    }
  }

  /** Fails every waiting call (job ended, shutdown). */
  abort(err: Error): void {
    for (const e of this.entries.values()) for (const w of [...e.waiters]) w.reject(err);
    this.entries.clear();
  }

  private maybeComplete(e: Entry): void {
    const members = this.membership.members;
    for (const r of members) if (!e.values.has(r)) return;
    const values: number[] = [];
    for (const r of members) values.push(...(e.values.get(r) as readonly number[]));
    e.result = { ranks: [...members], values };
    for (const w of [...e.waiters]) w.resolve(e.result);
  }
}
