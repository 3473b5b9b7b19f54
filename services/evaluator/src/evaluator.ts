import { status as GrpcStatus } from '@grpc/grpc-js';
import { backoffDelay, datasetSpecToWire, isServiceError, sleep, unary, workerClient } from '@distrain/core';
import { streamBatches } from '@distrain/core/datasets';
import { NOOP_EVALUATOR_METRICS } from '@distrain/core/metrics';
import { DEFAULT_PS_OUTAGE_MS, psFailureKind } from '@distrain/core/ps';
import { loaderStreamOptions, openWorkerSession } from '@distrain/core/worker';
import type { EvaluationResult, Logger, WorkerConfig } from '@distrain/core';
import type { ParameterClient } from '@distrain/core/ps';
import type { EvaluatorMetrics } from '@distrain/core/metrics';

/**
 * Accumulates accuracy, loss, confusion and prediction rows over the test batches of one epoch; for a
 * regression dataset (numClasses 0) the squared and absolute errors instead (MSE, MAE).
 */
export class EpochEvaluation {
  readonly confusion: Uint32Array;
  private lossSum = 0;
  private correct = 0;
  private count = 0;
  private absErrorSum = 0;
  private readonly rows: string[] = [];
  private readonly regression: boolean;

  constructor(private readonly numClasses: number) {
    this.confusion = new Uint32Array(numClasses * numClasses);
    this.regression = numClasses === 0;
  }

  /** Adds one batch; `indices` are dataset indices, rows are kept in dataset order by the caller. */
  add(
    indices: Uint32Array,
    labels: ArrayLike<number>,
    out: { lossSum: number; predicted: Int32Array; probabilities: Float32Array },
  ): void {
    const k = this.numClasses;
    this.lossSum += out.lossSum;
    if (this.regression) {
      // One target per sample: probabilities are the raw outputs.
      for (let i = 0; i < indices.length; i++) {
        const y = labels[i] as number;
        const p = out.probabilities[i] as number;
        this.absErrorSum += Math.abs(p - y);
        this.rows.push(`${indices[i]},${y},${p}`);
      }
      this.count += indices.length;
      return;
    }
    for (let i = 0; i < indices.length; i++) {
      const label = Math.round(labels[i] as number);
      const predicted = out.predicted[i] as number;
      if (label === predicted) this.correct++;
      if (label >= 0 && label < k && predicted >= 0 && predicted < k) {
        const cell = label * k + predicted;
        this.confusion[cell] = (this.confusion[cell] as number) + 1;
      }
      const probs: string[] = [];
      for (let c = 0; c < k; c++) probs.push((out.probabilities[i * k + c] as number).toFixed(6));
      this.rows.push(`${indices[i]},${label},${predicted},${probs.join(',')}`);
    }
    this.count += indices.length;
  }

  /** The result (accuracy, mean loss, per-class accuracy, confusion). */
  result(epoch: number, version: number, evalSeconds: number): EvaluationResult {
    const k = this.numClasses;
    const perClass: number[] = [];
    for (let c = 0; c < k; c++) {
      let total = 0;
      for (let p = 0; p < k; p++) total += this.confusion[c * k + p] as number;
      perClass.push(total === 0 ? 0 : (this.confusion[c * k + c] as number) / total);
    }
    return {
      epoch,
      version,
      testAccuracy: this.count === 0 ? 0 : this.correct / this.count,
      testLoss: this.count === 0 ? 0 : this.lossSum / this.count,
      numSamples: this.count,
      perClassAccuracy: perClass,
      confusion: [...this.confusion],
      numClasses: k,
      evalSeconds,
      regression: this.regression,
      testMae: this.count === 0 || !this.regression ? 0 : this.absErrorSum / this.count,
    };
  }

  /** Predictions as CSV (`index,label,predicted,p0..pk-1`), in the order the batches arrived (dataset order). */
  csv(): Buffer {
    if (this.regression) return Buffer.from(`index,target,prediction\n${this.rows.join('\n')}\n`);
    const header = [
      'index',
      'label',
      'predicted',
      ...Array.from({ length: this.numClasses }, (_, c) => `p${c}`),
    ].join(',');
    return Buffer.from(`${header}\n${this.rows.join('\n')}\n`);
  }
}

/**
 * The evaluator: after each epoch, the parameters of that epoch's snapshot, eval mode (dropout off,
 * batch-norm inference), no gradients, the unshuffled test split. Training never waits for it: the
 * parameter server keeps each epoch's snapshot until the evaluator has pulled it.
 */
export async function runEvaluator(
  config: WorkerConfig,
  logger: Logger,
  options: { metrics?: EvaluatorMetrics; metricsPort?: number } = {},
): Promise<void> {
  const { job, dataset } = config;
  const spec = job.spec;
  const metrics = options.metrics ?? NOOP_EVALUATOR_METRICS;
  const session = await openWorkerSession(
    config,
    logger,
    options.metricsPort === undefined ? {} : { metricsPort: options.metricsPort },
  );
  const { heartbeat, runtime, ps, loader } = session;
  heartbeat.start();
  const coordinator = workerClient(config.coordinator);
  const signal = heartbeat.signal;
  try {
    // A restarted evaluator starts at the first epoch the coordinator has no result for.
    const first = Math.max(1, config.firstEpoch ?? 1);
    const outageMs = config.psOutageMs ?? DEFAULT_PS_OUTAGE_MS;
    for (let epoch = first; epoch <= spec.epochs && !signal.aborted; epoch++) {
      const snapshot = await pullSnapshot(ps, epoch, signal, logger, outageMs);
      if (!snapshot) break; // aborted
      const started = performance.now();
      runtime.setParameters(snapshot.params);
      const acc = new EpochEvaluation(dataset.numClasses);
      const batchSize = Math.min(spec.evaluation.batchSize, dataset.testCount);
      for await (const batch of streamBatches(
        loader,
        {
          jobId: config.jobId,
          dataset: datasetSpecToWire(spec.dataset),
          split: 'SPLIT_TEST',
          epoch: 0,
          rank: 0,
          worldSize: 1,
          globalBatchSize: batchSize,
          seed: spec.seed,
          startStep: 0,
        },
        loaderStreamOptions(config, logger, signal),
      )) {
        const out = runtime.evaluate(
          batch.features.data,
          batch.labels.data as Int32Array | Float32Array,
          batch.indices.length,
        );
        acc.add(batch.indices, batch.labels.data as Int32Array | Float32Array, out);
      }
      if (signal.aborted) break;
      const result = {
        ...acc.result(epoch, snapshot.version, (performance.now() - started) / 1000),
        // When the epoch's training ended (the shards' snapshot time): the coordinator times epochs
        // with it, also those that ended while it was restarting.
        epochEndMs: snapshot.snapshotTimeMs,
      };
      logger.info(
        result.regression === true
          ? { epoch, testMse: result.testLoss, testMae: result.testMae }
          : { epoch, testAccuracy: result.testAccuracy, testLoss: result.testLoss },
        'epoch evaluated',
      );
      metrics.epoch({
        epoch,
        testAccuracy: Number(result.testAccuracy),
        testLoss: Number(result.testLoss),
        samples: Number(result.numSamples),
        evalSeconds: Number(result.evalSeconds),
      });
      // Idempotent per epoch; retried for about a minute so a coordinator restart does not lose it.
      await unary(
        coordinator,
        coordinator.reportEvaluation,
        { jobId: config.jobId, result, predictionsCsv: acc.csv() },
        { timeoutMs: 30_000, retries: 25, backoffMs: 500, signal },
      );
    }
    if (!signal.aborted) await heartbeat.beat('done');
  } finally {
    session.close();
    coordinator.close();
  }
}

/** The evaluator cannot get an epoch's parameters: the job fails with this reason, no epoch is skipped. */
export class EpochUnavailableError extends Error {
  override readonly name = 'EpochUnavailableError';
  constructor(epoch: number, why: string, options?: { cause?: unknown }) {
    super(`cannot evaluate epoch ${epoch}: ${why}`, options);
  }
}

/**
 * Waits for the snapshot of `epoch` (training may still be in it; a shard that restarted serves it
 * from its epoch checkpoint). Rides out a shard outage or restore of up to `outageMs`; throws
 * {@link EpochUnavailableError} when the epoch's parameters no longer exist anywhere, so the job
 * fails with the reason instead of skipping the epoch. Null only when the signal aborted.
 */
export async function pullSnapshot(
  ps: Pick<ParameterClient, 'pull'>,
  epoch: number,
  signal: AbortSignal,
  logger: Logger,
  outageMs = DEFAULT_PS_OUTAGE_MS,
): Promise<Awaited<ReturnType<ParameterClient['pull']>> | null> {
  let troubleSince: number | undefined;
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      return await ps.pull({ epoch, release: true });
    } catch (err) {
      if (isServiceError(err) && err.code === GrpcStatus.DEADLINE_EXCEEDED) continue; // epoch still training
      const gone =
        isServiceError(err) && err.code === GrpcStatus.NOT_FOUND && !/unknown job/.test(err.details);
      if (gone) throw new EpochUnavailableError(epoch, err.details, { cause: err });
      // A shard down, restarted and not yet restored, rolled back, or shards disagreeing for a moment.
      if (psFailureKind(err) === 'fatal') throw err;
      troubleSince ??= Date.now();
      if (Date.now() - troubleSince >= outageMs) {
        throw new EpochUnavailableError(
          epoch,
          `the parameter server did not serve it for ${Math.round(outageMs / 1000)} s: ${(err as Error).message}`,
          { cause: err },
        );
      }
      if (attempt % 5 === 0)
        logger.warn({ epoch, err: (err as Error).message }, 'waiting for the epoch snapshot');
      await sleep(200 + backoffDelay(attempt, 200, 5_000), signal);
    }
  }
  return null;
}
