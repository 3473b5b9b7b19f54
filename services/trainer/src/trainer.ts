import {
  DistrainError,
  ValidationError,
  backoffDelay,
  datasetSpecToWire,
  firstNonFinite,
  sizeOf,
  sleep,
} from '@distrain/core';
import { streamBatches } from '@distrain/core/datasets';
import { NOOP_TRAINER_METRICS, STEP_BREAKDOWN_MSG, StepBreakdown } from '@distrain/core/metrics';
import type { StepPhases } from '@distrain/core/metrics';
import { FrameCollector } from '@distrain/core/service';
import { loaderStreamOptions, openWorkerSession } from '@distrain/core/worker';
import type { Logger, WorkerConfig } from '@distrain/core';
import { DEFAULT_PS_OUTAGE_MS, StatExchangeClient, psFailureKind, pullConsistent } from '@distrain/core/ps';
import type { ParameterClient, PsPushPullInput, PsPushPullResult } from '@distrain/core/ps';
import type { TrainerMetrics } from '@distrain/core/metrics';
import type { DataBatch } from '@distrain/core/datasets';
import type { ModelRuntime } from '@distrain/core/model';
import { OwnSteps } from './own-step.ts';

/**
 * The training loss (or gradient) became NaN or infinite: every restart would diverge the same way,
 * so the trainer reports it (heartbeat status `diverged`, which fails the job with this message) and
 * exits with EXIT_CONFIG.
 */
export class DivergedError extends DistrainError {
  override name = 'DivergedError';
}

/**
 * Whether every value of `data` is finite, in one pass: a float64 sum of float32 values cannot
 * overflow (|x| < 3.5e38, at most 2^32 of them), so it is finite exactly when no value is NaN or
 * infinite. Four independent sums keep the loop off one long dependency chain (~1.5x faster than
 * `firstNonFinite`, which is only needed to name the bad value).
 */
export function allFinite(data: Float32Array): boolean {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = data.length;
  const m = n - (n & 3);
  for (let i = 0; i < m; i += 4) {
    s0 += data[i] as number;
    s1 += data[i + 1] as number;
    s2 += data[i + 2] as number;
    s3 += data[i + 3] as number;
  }
  for (let i = m; i < n; i++) s0 += data[i] as number;
  return Number.isFinite(s0 + s1 + s2 + s3);
}

/** Why a step's sums are not finite (the job's failure reason), or undefined when they are. */
export function divergence(
  lossSum: number,
  grads: ReadonlyMap<string, Float32Array>,
  at: { step: number; epoch: number },
): string | undefined {
  const where = `at step ${at.step}, epoch ${at.epoch}; lower learningRate or enable clipNorm`;
  if (!Number.isFinite(lossSum)) return `loss became ${lossSum} ${where}`;
  for (const [name, g] of grads) {
    if (allFinite(g)) continue;
    const i = firstNonFinite(g);
    return `gradient of ${name} became ${g[i]} ${where}`;
  }
  return undefined;
}

/**
 * One trainer rank: per step take its slice of the global batch (prefetched), zero the gradients,
 * forward in training mode, loss, backward, push the gradient sums and load the parameters the
 * parameter server answers with. Resumes from the parameter server's version after a restart.
 * When the shards' state changes under it (a shard restarted and restored a checkpoint, the
 * coordinator rolled every shard back to one version), it pulls the restored parameters and goes on
 * from their version, re-requesting the batches from that step.
 */
export async function runTrainer(
  config: WorkerConfig,
  logger: Logger,
  options: { metrics?: TrainerMetrics; metricsPort?: number } = {},
): Promise<void> {
  const { job, dataset } = config;
  const spec = job.spec;
  const metrics = options.metrics ?? NOOP_TRAINER_METRICS;
  const session = await openWorkerSession(
    config,
    logger,
    options.metricsPort === undefined ? {} : { metricsPort: options.metricsPort },
  );
  const { heartbeat, runtime, ps, loader } = session;
  const spe = config.stepsPerEpoch;
  const totalSteps = spe * spec.epochs;
  const accumulate = spec.trainers.accumulateSteps;
  // Synchronized batch norm: with several ranks every batch-norm layer uses the global batch's
  // statistics, exchanged per step through shard 0 (one rank needs no exchange: the fast path).
  const syncBn =
    runtime.hasBatchNorm && config.worldSize > 1
      ? new StatExchangeClient({
          jobId: config.jobId,
          rank: config.rank,
          address: ps.shardAddresses[0] as string,
          ...(config.dataPlane === undefined ? {} : { dataPlane: config.dataPlane }),
          ...(config.token === undefined ? {} : { token: config.token }),
          signal: heartbeat.signal,
        })
      : undefined;
  if (syncBn !== undefined && accumulate > 1) {
    syncBn.close();
    session.close();
    throw new ValidationError(
      'spec.trainers.accumulateSteps',
      "must be 1 for a model with batchNormalization layers and more than one trainer (synchronized batch norm normalizes each step's whole global batch)",
    );
  }
  const outageMs = config.psOutageMs ?? DEFAULT_PS_OUTAGE_MS;
  // One micro-batch per step without synchronized batch norm: its inputs can be prepared ahead.
  const prepare = syncBn === undefined && accumulate === 1;
  // The parameters arrive as ZeroMQ frames every step: freed by a young-generation collection in the
  // exchange's wait, not by Mark-Compacts inside the steps (heap-tuning.ts).
  const frames = new FrameCollector();
  const paramBytes = runtime.variables.reduce((n, v) => n + 4 * sizeOf(v.shape), 0);
  try {
    const start = await pullConsistent(ps, { signal: heartbeat.signal, logger, outageMs });
    if (!start) return;
    runtime.setParameters(start.params);
    let version = start.version;
    // One rank from a fresh start applies its own steps (own-step.ts); a mismatch or any resync ends it.
    let own = OwnSteps.eligible(config.worldSize, version, runtime.gradientBuffers)
      ? new OwnSteps(start.params, spec.optimizer, { stepsPerEpoch: spe, totalSteps }, ps.plan)
      : undefined;
    if (own !== undefined) logger.info('one trainer: applying its own steps, the shards acknowledge them');
    heartbeat.start();
    if (version > 0) logger.info({ version }, 'resuming from the parameter server');
    let samples = 0;
    let windowStart = Date.now();
    let windowSamples = 0;
    let samplesPerSecond = 0;
    // Per-step phases: medians logged at each epoch end and for the whole run (`distrain run -v`).
    const breakdown = new StepBreakdown();
    const overall = new StepBreakdown();
    // Steps this trainer applied itself (own-step.ts), in the epoch's breakdown and in the run's.
    const ownSteps = { epoch: 0, all: 0 };
    // Resyncs in a row without an applied step: a state that keeps changing is a fault, not an outage.
    let resyncs = 0;
    /** Reports a diverged run (heartbeat `diverged`, which fails the job) and throws. */
    const diverge = async (message: string, at: { step: number; epoch: number }): Promise<never> => {
      logger.error(at, message);
      await heartbeat.beat('diverged', message);
      throw new DivergedError(message, { jobId: config.jobId, step: at.step });
    };
    /**
     * The own step in flight answered: 'ok', or 'resync' when its push found the shards' state
     * changed or their parameters differ from the trainer's copy (logged). Other failures throw.
     */
    const settleOwn = async (steps: OwnSteps): Promise<'ok' | 'resync'> => {
      try {
        const { state, result } = await steps.settle();
        if (state === 'ok') return 'ok';
        logger.error(
          { version: result?.version, shards: result?.checksum },
          "the shards' parameters differ from the trainer's own copy; using the shards' from here on",
        );
        return 'resync';
      } catch (err) {
        if (psFailureKind(err) !== 'resync' || heartbeat.signal.aborted || resyncs >= 20) throw err;
        logger.warn({ version, err: (err as Error).message }, 'parameter-server state changed; resyncing');
        return 'resync';
      }
    };
    while (version < totalSteps && !heartbeat.signal.aborted) {
      let resync = false;
      const epoch = Math.floor(version / spe);
      const batches = streamBatches(
        loader,
        {
          jobId: config.jobId,
          dataset: datasetSpecToWire(spec.dataset),
          split: 'SPLIT_TRAIN',
          epoch,
          rank: config.rank,
          worldSize: config.worldSize,
          globalBatchSize: spec.batchSize,
          seed: spec.seed,
          startStep: version % spe,
        },
        loaderStreamOptions(config, logger, heartbeat.signal),
      );
      const timing = { dataMs: 0, computeMs: 0, psMs: 0, applyMs: 0, steps: 0 };
      /** Records a finished step: breakdown, metrics, throughput, heartbeat; `version` moves on. */
      const done = (phases: StepPhases, step: { count: number; loss: number; version: number }): void => {
        const stepStart = mark;
        mark = performance.now();
        const seconds = (mark - stepStart) / 1000;
        breakdown.add(phases, mark - stepStart);
        overall.add(phases, mark - stepStart);
        const exchangeMs =
          phases.encode + phases.transfer + phases.barrierWait + phases.apply + phases.decode;
        metrics.step({
          seconds,
          dataSeconds: phases.data / 1000,
          computeSeconds: phases.compute / 1000,
          psSeconds: exchangeMs / 1000,
          phases: {
            encodeSeconds: phases.encode / 1000,
            transferSeconds: phases.transfer / 1000,
            barrierWaitSeconds: phases.barrierWait / 1000,
            applySeconds: phases.apply / 1000,
            decodeSeconds: phases.decode / 1000,
            setParamsSeconds: phases.setParams / 1000,
          },
          samples: step.count,
          loss: step.loss,
          globalStep: step.version,
          epoch: Math.floor((step.version - 1) / spe) + 1,
        });
        timing.computeMs += phases.compute;
        timing.psMs += exchangeMs;
        timing.applyMs += phases.setParams;
        timing.steps++;
        version = step.version;
        samples += step.count;
        windowSamples += step.count;
        const now = Date.now();
        if (now - windowStart >= 1_000) {
          samplesPerSecond = (windowSamples * 1000) / (now - windowStart);
          windowStart = now;
          windowSamples = 0;
        }
        heartbeat.update({
          epoch: Math.floor((version - 1) / spe) + 1,
          stepInEpoch: ((version - 1) % spe) + 1,
          stepsPerEpoch: spe,
          globalStep: version,
          totalSteps,
          loss: step.loss,
          samplesPerSecond,
        });
      };
      // The next batch is asked for while the current step's exchange is in flight, and its input,
      // labels and dropout masks go into the backend then (prepareAhead), off the critical path.
      let next = batches.next();
      let mark = performance.now();
      try {
        for (;;) {
          const item = await next;
          if (item.done === true) break;
          const batch = item.value;
          const t0 = performance.now();
          timing.dataMs += t0 - mark;
          const step = epoch * spe + batch.step;
          const count = batch.indices.length;
          // One path for any accumulateSteps (ModelRuntime.accumulateGradients, tested there):
          // micro-batches of the slice, gradient sums added on purpose, one push for the step.
          // Dropout masks are keyed by (epoch, sample index), so they do not depend on the rank.
          const micro = Math.max(1, Math.min(accumulate, count));
          const featureSize = count === 0 ? 0 : batch.features.data.length / count;
          const labels = batch.labels.data as Int32Array | Float32Array;
          const labelSize = count === 0 ? 0 : labels.length / count;
          if (syncBn !== undefined) {
            const keys = { epoch, indices: batch.indices };
            const r = await runtime.computeGradientsSynced(
              batch.features.data,
              dataset.featureShape,
              labels,
              count,
              step,
              syncBn,
              keys,
            );
            runtime.accumulate(r);
          } else {
            for (let m = 0; m < micro; m++) {
              const lo = Math.floor((count * m) / micro);
              const hi = Math.floor((count * (m + 1)) / micro);
              runtime.accumulateGradients(
                batch.features.data.subarray(lo * featureSize, hi * featureSize),
                dataset.featureShape,
                labels.subarray(lo * labelSize, hi * labelSize),
                hi - lo,
                { epoch, indices: batch.indices.subarray(lo, hi) },
              );
            }
          }
          const { grads, states, lossSum } = runtime.takeAccumulated();
          const at = { step: step + 1, epoch: epoch + 1 };
          const t1 = performance.now();
          if (own !== undefined) {
            // The previous step's answer (normally here long ago), then this step applied here,
            // then its push, which the shards apply while the next step computes.
            const settled = await settleOwn(own);
            if (settled !== 'ok') {
              resync = true;
              own = undefined;
              break; // this step's gradient was computed on a copy that may differ: dropped, redone
            }
            const t2 = performance.now();
            const sent = own.stage(grads, states);
            const t3 = performance.now();
            // Non-finite gradients make the parameters non-finite: one check of the new parameters
            // (with their checksum) instead of one of the gradients. Nothing non-finite is pushed.
            if (!Number.isFinite(lossSum) || !own.apply(grads, states, count))
              await diverge(
                divergence(lossSum, grads, at) ??
                  `parameters became non-finite at step ${at.step}, epoch ${at.epoch}; lower learningRate or enable clipNorm`,
                at,
              );
            const t4 = performance.now();
            own.send(
              pushWithRetry(
                ps,
                {
                  rank: config.rank,
                  step,
                  sampleCount: count,
                  grads: sent.grads,
                  states: sent.states,
                  lossSum,
                  ackOnly: true,
                },
                heartbeat.signal,
                logger,
                outageMs,
              ),
            );
            next = batches.next();
            // The push is already with ZeroMQ's I/O thread (ZmqChannel sends inside the call).
            const t5 = performance.now();
            runtime.setParameters(own.params);
            done(
              {
                data: t0 - mark,
                compute: t1 - t0,
                encode: t3 - t2 + (t5 - t4),
                transfer: t2 - t1,
                barrierWait: 0,
                apply: t4 - t3,
                decode: 0,
                setParams: performance.now() - t5,
              },
              { count, loss: lossSum / Math.max(1, count), version: step + 1 },
            );
            ownSteps.epoch++;
            ownSteps.all++;
            // The shards hold an epoch's last step before the epoch is reported (the evaluator reads it).
            if (version % spe === 0 || version >= totalSteps) {
              const last = await settleOwn(own);
              if (last !== 'ok') {
                resync = true;
                own = undefined;
                break;
              }
            }
            if (version % spe === 0) void heartbeat.beat('running');
            if (version >= totalSteps) break;
            continue;
          }
          // A non-finite loss or gradient is never pushed (the parameter server would refuse it).
          const diverged = divergence(lossSum, grads, at);
          if (diverged !== undefined) await diverge(diverged, at);
          let res: PsPushPullResult;
          const pushed = pushWithRetry(
            ps,
            { rank: config.rank, step, sampleCount: count, grads, states, lossSum },
            heartbeat.signal,
            logger,
            outageMs,
          );
          next = batches.next();
          frames.idle(); // runs after the request is out
          if (prepare) await prepareAhead(runtime, next, pushed, dataset.featureShape, epoch);
          try {
            res = await pushed;
          } catch (err) {
            if (psFailureKind(err) !== 'resync' || heartbeat.signal.aborted || resyncs >= 20) throw err;
            logger.warn({ step, err: (err as Error).message }, 'parameter-server state changed; resyncing');
            resync = true;
            break; // the stream is cancelled below; it restarts from the restored version's step
          }
          resyncs = 0;
          frames.received(paramBytes);
          const t2 = performance.now();
          runtime.setParameters(res.params);
          const pt = res.timing;
          done(
            {
              data: t0 - mark,
              compute: t1 - t0,
              encode: pt.encodeMs,
              transfer: pt.transferMs,
              barrierWait: pt.barrierWaitMs,
              apply: pt.applyMs,
              decode: pt.decodeMs,
              setParams: performance.now() - t2,
            },
            { count, loss: res.meanLoss, version: res.version },
          );
          // Epoch boundaries are reported at once so the coordinator times epochs precisely.
          if (version % spe === 0) void heartbeat.beat('running');
          if (version >= totalSteps) break;
        }
      } finally {
        // A pending next() of an abandoned stream settles unseen; the prepared batch is freed.
        next.catch(() => undefined);
        batches.cancel();
        runtime.discardPrepared();
      }
      if (resync) {
        resyncs++;
        const now = await pullConsistent(ps, { signal: heartbeat.signal, logger, outageMs });
        if (!now) break;
        runtime.setParameters(now.params);
        logger.warn(
          { from: version, to: now.version, redo: Math.max(0, version - now.version) },
          'resuming from the parameter server after a restore',
        );
        version = now.version;
        heartbeat.update({ globalStep: version, epoch: Math.floor(version / spe), totalSteps });
        continue;
      }
      // The stream ended at the end of the epoch; the loop picks the next epoch from the version.
      logger.info({ epoch: epoch + 1, ...timing }, 'epoch timing (ms)');
      if (breakdown.steps > 0) {
        logger.info(
          {
            rank: config.rank,
            epoch: epoch + 1,
            ...breakdown.medians(),
            mean: breakdown.means(),
            ownSteps: ownSteps.epoch,
          },
          STEP_BREAKDOWN_MSG,
        );
        breakdown.reset();
        ownSteps.epoch = 0;
      }
    }
    if (heartbeat.signal.aborted) {
      logger.warn({ reason: heartbeat.stopReason }, 'stopped before the end');
      return;
    }
    if (overall.steps > 0)
      logger.info(
        {
          rank: config.rank,
          epoch: 'all',
          ...overall.medians(),
          mean: overall.means(),
          ownSteps: ownSteps.all,
        },
        STEP_BREAKDOWN_MSG,
      );
    logger.info({ samples, version }, 'training done');
    await heartbeat.beat('done');
  } finally {
    syncBn?.close();
    session.close();
  }
}

/** The exchange answered before the next batch arrived (or the batch stream failed). */
const NOT_READY: unique symbol = Symbol('not ready');

/**
 * Runs while a step's exchange is in flight. Once its frames are out (one macrotask turn: the send
 * runs in microtasks the call queued), waits for whichever comes first, the next batch or the
 * answer; when the batch came first, moves its input, labels and dropout masks into the backend
 * (`ModelRuntime.prepareBatch`), so the next step's compute starts with them. Failures are left to
 * the awaits that follow (the batch's at the top of the loop, the answer's after this).
 */
async function prepareAhead(
  runtime: ModelRuntime,
  next: Promise<IteratorResult<DataBatch>>,
  pushed: Promise<PsPushPullResult>,
  featureShape: readonly number[],
  epoch: number,
): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  const first = await Promise.race([
    next.catch((): typeof NOT_READY => NOT_READY),
    pushed.then(
      (): typeof NOT_READY => NOT_READY,
      (): typeof NOT_READY => NOT_READY,
    ),
  ]);
  if (first === NOT_READY || first.done === true) return;
  const b = first.value;
  runtime.prepareBatch(
    b.features.data,
    featureShape,
    b.labels.data as Int32Array | Float32Array,
    b.indices.length,
    { epoch, indices: b.indices },
  );
}

/**
 * PushPull is idempotent per (rank, step), so a retry after UNAVAILABLE / DEADLINE_EXCEEDED is safe:
 * retried with jittered backoff (0.2 s doubling to 5 s) for at most `outageMs`.
 */
async function pushWithRetry(
  ps: ParameterClient,
  req: PsPushPullInput,
  signal: AbortSignal,
  logger: Logger,
  outageMs: number,
): Promise<PsPushPullResult> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await ps.pushPull(req);
    } catch (err) {
      if (psFailureKind(err) !== 'retry' || signal.aborted || Date.now() - started >= outageMs) throw err;
      logger.warn(
        { step: req.step, code: (err as { code?: number }).code },
        'push-pull retry (waiting for other ranks or a shard)',
      );
      await sleep(100 + backoffDelay(attempt, 200, 5_000), signal);
    }
  }
}
