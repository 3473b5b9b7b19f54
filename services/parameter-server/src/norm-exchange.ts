import {
  LIMITS,
  TimeoutError,
  ValidationError,
  checkInt,
  parameterServerClient,
  unary,
} from '@distrain/core';

/** Steps whose partials a shard keeps while it waits for its own step (older ones are dropped). */
const MAX_INBOX_STEPS = 64;
import { sumOfSquares } from '@distrain/core/ps';
import type { ParameterServerServiceClient } from '@distrain/core';
import type { PartInfo, PartPlan, ShareNormsRequest__Output } from '@distrain/core/ps';

/**
 * Gradient clipping by global norm across shards. Each shard computes, per trainable part it owns,
 * the sum of squares of the step's mean gradient; shards send their partials to each other
 * (`ShareNorms`) and every shard sums all of them in plan part order (variable order, then part
 * order). Parts do not depend on the shard count, so the norm (and every update) is bit-identical to
 * one shard's.
 */
export class NormExchange {
  /** Received partials per step, then per shard (values in that shard's trainable-part order). */
  private readonly inbox = new Map<number, Map<number, readonly number[]>>();
  private readonly waiters = new Map<number, () => void>();
  private clients: (ParameterServerServiceClient | undefined)[] = [];

  constructor(
    private readonly jobId: string,
    private readonly plan: PartPlan,
    private readonly shardIndex: number,
    private readonly shardAddresses: readonly string[],
  ) {
    if (plan.shardCount > 1 && shardAddresses.length !== plan.shardCount) {
      throw new ValidationError(
        'shard_addresses',
        `optimizer.clip_norm with ${plan.shardCount} shards needs the address of every shard, got ${shardAddresses.length}`,
      );
    }
  }

  /** Per-part sums of squares of this shard's trainable parts (plan order) for one step. */
  static partials(
    parts: readonly { info: PartInfo }[],
    gradsOf: (key: string) => Float32Array[],
    scale: number,
  ): number[] {
    return parts.map((p) => sumOfSquares(gradsOf(p.info.key), scale));
  }

  /** Global norm from every shard's partials (index = shard), summed in plan part order. */
  normOf(byShard: ReadonlyMap<number, readonly number[]>): number {
    const at = new Array<number>(this.plan.shardCount).fill(0);
    const value = new Map<string, number>();
    for (const part of this.plan.parts) {
      if (!part.trainable) continue;
      const i = at[part.shard] as number;
      at[part.shard] = i + 1;
      value.set(part.key, byShard.get(part.shard)?.[i] ?? 0);
    }
    let total = 0;
    for (const part of this.plan.parts) if (part.trainable) total += value.get(part.key) ?? 0;
    return Math.sqrt(total);
  }

  /**
   * Sends this shard's partials of `step` to every other shard and resolves with the global norm once
   * every shard's partials arrived. Rejects with a TimeoutError (retryable for the trainers' pushes)
   * when they do not arrive by `deadlineMs`.
   */
  async exchange(step: number, mine: readonly number[], deadlineMs: number): Promise<number> {
    this.receive(step, this.shardIndex, mine);
    if (this.plan.shardCount === 1) return this.normOf(this.inbox.get(step) as Map<number, number[]>);
    const sends = this.shardAddresses.map((address, shard) => {
      if (shard === this.shardIndex) return Promise.resolve();
      const c = (this.clients[shard] ??= parameterServerClient(address));
      return unary(
        c,
        c.shareNorms,
        { jobId: this.jobId, step, shardIndex: this.shardIndex, sumSquares: [...mine] },
        { timeoutMs: Math.max(1_000, deadlineMs - Date.now()), retries: 5 },
      ).then(() => undefined);
    });
    const arrived = new Promise<void>((resolve, reject) => {
      if (this.complete(step)) {
        resolve();
        return;
      }
      const timer = setTimeout(
        () => {
          this.waiters.delete(step);
          reject(
            new TimeoutError(`gradient norms of step ${step} did not arrive from every shard`, {
              jobId: this.jobId,
              step,
            }),
          );
        },
        Math.max(0, deadlineMs - Date.now()),
      );
      this.waiters.set(step, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await Promise.all([...sends, arrived]);
    const norm = this.normOf(this.inbox.get(step) as Map<number, number[]>);
    // Steps complete in order: older entries are no longer needed.
    for (const s of this.inbox.keys()) if (s <= step) this.inbox.delete(s);
    return norm;
  }

  /** A peer's partials (the ShareNorms handler); idempotent. */
  receive(step: number, shard: number, values: readonly number[]): void {
    if (!Number.isInteger(shard) || shard < 0 || shard >= this.plan.shardCount) {
      throw new ValidationError('shard_index', `must be below ${this.plan.shardCount}, got ${shard}`);
    }
    const expect = this.plan.byShard[shard]?.filter((p) => p.trainable).length ?? 0;
    if (values.length !== expect) {
      throw new ValidationError(
        'sum_squares',
        `shard ${shard} owns ${expect} trainable parts, got ${values.length} values`,
      );
    }
    let box = this.inbox.get(step);
    if (box === undefined) {
      box = new Map();
      this.inbox.set(step, box);
      // Bounded: partials of steps nobody waits for (a peer far ahead, or garbage) are dropped oldest
      // first; a real step's partials arrive within a step of each other.
      if (this.inbox.size > MAX_INBOX_STEPS) {
        const oldest = Math.min(...this.inbox.keys());
        if (!this.waiters.has(oldest)) this.inbox.delete(oldest);
      }
    }
    box.set(shard, values);
    if (this.complete(step)) {
      const w = this.waiters.get(step);
      this.waiters.delete(step);
      w?.();
    }
  }

  /** Handles a ShareNorms request for this job. */
  handle(req: ShareNormsRequest__Output): void {
    checkInt('step', Number(req.step), 0, LIMITS.maxSteps);
    for (const [i, v] of req.sumSquares.entries())
      if (!Number.isFinite(v) || v < 0)
        throw new ValidationError(`sum_squares[${i}]`, `must be a finite non-negative number, got ${v}`, {
          reason: 'non_finite',
        });
    this.receive(Number(req.step), req.shardIndex, req.sumSquares);
  }

  close(): void {
    for (const c of this.clients) c?.close();
    this.clients = [];
    this.inbox.clear();
    this.waiters.clear();
  }

  private complete(step: number): boolean {
    return (this.inbox.get(step)?.size ?? 0) === this.plan.shardCount;
  }
}
