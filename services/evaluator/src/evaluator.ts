import { status as GrpcStatus } from '@grpc/grpc-js';
import { datasetSpecToWire, isServiceError, sleep, unary, workerClient } from '@distrain/core';
import { streamBatches } from '@distrain/core/datasets';
import { NOOP_EVALUATOR_METRICS } from '@distrain/core/metrics';
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
    for (let epoch = 1; epoch <= spec.epochs && !signal.aborted; epoch++) {
      const snapshot = await pullSnapshot(ps, epoch, signal, logger);
      if (!snapshot) continue;
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

/** Waits for the snapshot of `epoch` (training may still be in it); null when it no longer exists. */
async function pullSnapshot(
  ps: ParameterClient,
  epoch: number,
  signal: AbortSignal,
  logger: Logger,
): Promise<Awaited<ReturnType<ParameterClient['pull']>> | null> {
  while (!signal.aborted) {
    try {
      return await ps.pull({ epoch, release: true });
    } catch (err) {
      if (isServiceError(err) && err.code === GrpcStatus.DEADLINE_EXCEEDED) continue; // epoch still training
      if (isServiceError(err) && err.code === GrpcStatus.UNAVAILABLE) {
        await sleep(500, signal);
        continue;
      }
      if (isServiceError(err) && err.code === GrpcStatus.NOT_FOUND) {
        logger.warn({ epoch, details: err.details }, 'snapshot gone; skipping the epoch');
        return null;
      }
      throw err;
    }
  }
  return null;
}
