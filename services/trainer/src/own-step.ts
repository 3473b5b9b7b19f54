import { float32Digest, optimizerAsShardsSee, resolveOptimizerSchedule } from '@distrain/core/ps';
import { HostOptimizer } from '@distrain/core/model';
import type { OptimizerConfig, ParamMap } from '@distrain/core';
import type { PartPlan, PsPushPullResult } from '@distrain/core/ps';

/**
 * A world of one applies its own steps. With one trainer the step's aggregate is its own gradient,
 * so waiting for the shards to apply it and send 1 MB of parameters back buys nothing: the trainer
 * applies the step itself with the shards' optimizer (the same code, {@link HostOptimizer} over
 * `applyGradients`, and the same float32-rounded settings, {@link optimizerAsShardsSee}) and starts
 * the next step at once, while its gradient travels to the shards with `ackOnly`. The shards apply
 * it as before (checkpoints, the evaluator and a restart read their copy) and answer with a
 * checksum of their parameters, which the trainer compares with its own copy before it sends the
 * next step: the two stay bit-identical or the trainer goes back to the shards' parameters
 * (resync) and their answers for the rest of the run. One push is in flight at a time.
 */
export class OwnSteps {
  /** The trainer's copy of every variable (trainable and state), updated in place. */
  readonly params: ParamMap;
  private readonly optimizer: HostOptimizer;
  /** The copy of the states in flight (the gradients travel from the runtime's own buffers). */
  private readonly sentStates = new Map<string, Float32Array>();
  private pending: { result: Promise<PsPushPullResult>; checksum: number } | undefined;
  /** Checksum of {@link params} after the last apply. */
  private expected = 0;

  /**
   * Whether a run can apply its own steps: one rank, a fresh start (the optimizer's slots live on
   * the shards) and a runtime whose gradient arrays outlive the next step (see {@link stage}).
   */
  static eligible(worldSize: number, version: number, gradientBuffers: number): boolean {
    return worldSize === 1 && version === 0 && gradientBuffers >= 2;
  }

  /**
   * @param start the parameters at version 0, as pulled from the shards
   * @param optimizer the job's optimizer; its schedule is resolved for the job's length here, as the
   *   coordinator does for the shards
   * @param plan the shards' partition plan: with clipping, the squared norm is summed part by part in
   *   its order, as the shards sum it
   */
  constructor(
    start: ParamMap,
    optimizer: OptimizerConfig,
    context: { stepsPerEpoch: number; totalSteps: number },
    plan: PartPlan,
  ) {
    const compiled = optimizerAsShardsSee(resolveOptimizerSchedule(optimizer, context));
    this.optimizer = new HostOptimizer({ compiled });
    this.optimizer.clipByParts(plan);
    this.params = this.optimizer.adopt(start);
  }

  /**
   * Waits for the shards' answer to the step in flight. `mismatch`: their parameters differ from this
   * copy (the caller resyncs from the shards). A failed push rejects, as the push itself would.
   */
  async settle(): Promise<{ state: 'ok' | 'mismatch'; result?: PsPushPullResult }> {
    const p = this.pending;
    if (p === undefined) return { state: 'ok' };
    this.pending = undefined;
    const result = await p.result;
    return { state: result.checksum === p.checksum ? 'ok' : 'mismatch', result };
  }

  /**
   * What a step's push carries (the previous push must be settled): the gradient sums as they are,
   * which must stay unchanged until this push is settled (a runtime with `gradientBuffers: 2` keeps
   * them through the next step: no copy of the gradients), and a copy of the states.
   */
  stage(grads: ParamMap, states: ParamMap): { grads: ParamMap; states: ParamMap } {
    if (this.pending !== undefined) throw new Error('OwnSteps.stage: the previous step is not settled');
    copyInto(this.sentStates, states);
    return { grads, states: this.sentStates };
  }

  /**
   * Applies the step to this copy (`count` samples behind the sums) and notes the checksum the
   * shards' answer must carry. Returns whether every parameter is still finite.
   */
  apply(grads: ParamMap, states: ParamMap, count: number): boolean {
    this.optimizer.apply(this.params, grads, count);
    // Batch-norm moving statistics: the shards keep the one rank's values.
    for (const [name, v] of states) (this.params.get(name) as Float32Array).set(v);
    const digest = float32Digest(this.params.values());
    this.expected = digest.checksum;
    return digest.finite;
  }

  /** Records the push that carries the applied step to the shards (settled before the next one). */
  send(pushed: Promise<PsPushPullResult>): void {
    pushed.catch(() => undefined); // handled by settle
    this.pending = { result: pushed, checksum: this.expected };
  }
}

function copyInto(into: Map<string, Float32Array>, from: ParamMap): void {
  for (const [name, v] of from) {
    let a = into.get(name);
    if (a === undefined || a.length !== v.length) {
      a = new Float32Array(v.length);
      into.set(name, a);
    }
    a.set(v);
  }
}
