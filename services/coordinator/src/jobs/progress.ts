import { LIMITS, ValidationError, checkId, checkInt, checkText, clip, isTerminal } from '@distrain/core';
import type { EvaluationResult, HeartbeatRequest__Output, JobProgress } from '@distrain/core';
import { compileOptimizer, learningRateAt } from '@distrain/core/ps';
import type { JobBook } from './book.ts';
import type { JobEnds } from './lifecycle.ts';
import { scheduleContext, slotKey } from './record.ts';
import type { JobRecord } from './record.ts';

/** Least time between two `step` events of one trainer. */
export const STEP_EVENT_INTERVAL_MS = 250;

/**
 * What workers report: heartbeats (liveness, progress, done/failed), the evaluator's epoch results,
 * backends and log lines; it keeps the job's progress, epochs and timings, and publishes step and
 * epoch events.
 */
export class ProgressTracker {
  private readonly lastStepEventMs = new Map<string, number>();
  /** When each trainer (`jobId/rank`) first beat: it is ready to train (see {@link trainingStart}). */
  private readonly readyMs = new Map<string, number>();

  constructor(
    private readonly book: JobBook,
    private readonly ends: JobEnds,
  ) {}

  /**
   * A worker's heartbeat: liveness, progress, and its done/failed status. `peerHost` is the address
   * the heartbeat came from (where the worker's `/metrics` is scraped).
   */
  heartbeat(req: HeartbeatRequest__Output, peerHost = ''): { stop: boolean; reason: string } {
    checkId('job_id', req.jobId);
    checkText('message', req.message);
    checkId('backend', req.backend, true);
    if (req.role !== 'trainer' && req.role !== 'evaluator')
      throw new ValidationError('role', `must be "trainer" or "evaluator", got "${clip(req.role)}"`);
    if (!['running', 'done', 'failed', 'diverged', ''].includes(req.status))
      throw new ValidationError(
        'status',
        `must be "running", "done", "failed" or "diverged", got "${clip(req.status)}"`,
      );
    checkInt('metrics_port', req.metricsPort, 0, 65535);
    if (this.book.wasEvicted(req.jobId)) return { stop: true, reason: 'job ended' };
    const record = this.book.get(req.jobId);
    if (isTerminal(record.state)) return { stop: true, reason: `job ${record.state}` };
    const slot = record.workers.get(slotKey(req.role, req.rank));
    if (!slot) throw new ValidationError('rank', `no ${req.role} ${clip(req.rank)} in job ${req.jobId}`);
    if (req.progress) checkProgress(req.progress, record);
    slot.lastSeenMs = this.book.clock.now();
    const readyKey = `${record.id}/${slot.rank}`;
    if (slot.role === 'trainer' && !this.readyMs.has(readyKey)) this.readyMs.set(readyKey, slot.lastSeenMs);
    this.book.metrics.heartbeat(slot.role);
    if (req.metricsPort > 0) {
      slot.metricsPort = req.metricsPort;
      slot.metricsHost = peerHost;
    }
    if (req.progress) slot.progress = req.progress;
    if (req.status === 'diverged') {
      // A non-finite training loss: every restart would diverge again, so the job fails now with
      // the trainer's reason ("loss became NaN at step S, epoch E; lower learningRate ...").
      this.ends.fail(record, clip(req.message || `${req.role} ${req.rank}: training diverged`, 500));
      return { stop: true, reason: 'training diverged' };
    }
    if (req.status === 'failed') {
      this.book.log(record, 'error', `${req.role} ${req.rank}: ${clip(req.message, 2000)}`);
    } else if (req.status === 'done') {
      slot.status = 'done';
      void this.ends.maybeFinish(record);
    } else {
      slot.status = 'running';
    }
    if (req.role === 'trainer' && req.progress && req.status !== 'failed')
      this.updateProgress(record, slot.rank, req.progress);
    return { stop: false, reason: '' };
  }

  private updateProgress(record: JobRecord, rank: number, p: JobProgress): void {
    let samplesPerSecond = 0;
    for (const w of record.workers.values()) {
      if (w.role === 'trainer' && w.status !== 'done')
        samplesPerSecond += Number(w.progress?.samplesPerSecond ?? 0);
    }
    const globalStep = Number(p.globalStep ?? 0);
    const now = this.book.clock.now();
    if (record.trainStartMs === 0 && globalStep > 0) record.trainStartMs = this.trainingStart(record) ?? now;
    for (let e = record.epochEndMs.length + 1; e * record.stepsPerEpoch <= globalStep; e++)
      record.epochEndMs.push(now);
    // The rate the parameter server used for the last update (the same pure schedule function).
    const o = record.job.spec.optimizer;
    const schedule = compileOptimizer(o, 'spec.optimizer', scheduleContext(record)).schedule;
    p = { ...p, learningRate: learningRateAt(o.learningRate, schedule, Math.max(0, globalStep - 1)) };
    if (globalStep >= Number(record.progress.globalStep ?? 0)) {
      record.progress = {
        ...p,
        samplesPerSecond,
        totalSteps: record.progress.totalSteps,
        stepsPerEpoch: record.stepsPerEpoch,
      };
      this.book.metrics.progress(record.id, globalStep, Number(p.loss ?? 0));
      this.book.saveSoon(record);
    }
    // A trainer's beats before its first step carry no progress: nothing to tell watchers yet.
    if (globalStep === 0) return;
    const key = `${record.id}/${rank}`;
    if (now - (this.lastStepEventMs.get(key) ?? 0) >= STEP_EVENT_INTERVAL_MS) {
      this.lastStepEventMs.set(key, now);
      this.book.events.publish(record.id, { event: 'step', step: { rank, progress: p } });
    }
  }

  /**
   * When training started: when the last trainer became ready (its first heartbeat, sent once its
   * model and parameters are in place), since the first step waits for every trainer. The time one
   * trainer waits for another's start-up is start-up, not training, as a single process's is. Asked
   * once the first step is applied (every trainer has beaten by then); undefined when a trainer's
   * first beat was not seen here (e.g. this coordinator restarted meanwhile).
   */
  private trainingStart(record: JobRecord): number | undefined {
    let last = 0;
    for (const w of record.workers.values()) {
      if (w.role !== 'trainer') continue;
      const ready = this.readyMs.get(`${record.id}/${w.rank}`);
      if (ready === undefined) return undefined;
      last = Math.max(last, ready);
    }
    return last > 0 ? last : undefined;
  }

  /** Drops what is kept per job (the job left memory). */
  forget(jobId: string): void {
    for (const map of [this.lastStepEventMs, this.readyMs])
      for (const key of map.keys()) if (key.startsWith(`${jobId}/`)) map.delete(key);
  }

  /** One epoch's evaluation from the evaluator. */
  reportEvaluation(jobId: string, result: EvaluationResult, predictionsCsv: Buffer): void {
    checkId('job_id', jobId);
    const record = this.book.get(jobId);
    checkEvaluation(result, record);
    if (record.epochs.some((e) => e.epoch === result.epoch)) return; // a retried report
    if (isTerminal(record.state)) return;
    if (!Number.isFinite(Number(result.testLoss))) {
      // The evaluated parameters are not finite (or the model overflows on the test set): the job
      // would "succeed" at chance accuracy.
      this.ends.fail(
        record,
        `test loss became ${String(result.testLoss)} at epoch ${result.epoch}; lower learningRate or enable clipNorm`,
      );
      return;
    }
    const trainers = [...record.workers.values()].filter((w) => w.role === 'trainer');
    const e = Number(result.epoch);
    // The shards' snapshot time is when the epoch really ended, also when it ended while this
    // coordinator was down (no heartbeat saw it); it corrects what heartbeats recorded.
    const reportedEnd = Number(result.epochEndMs ?? 0);
    if (reportedEnd > 0 && record.epochEndMs.length >= e - 1) record.epochEndMs[e - 1] = reportedEnd;
    const end = record.epochEndMs[e - 1] ?? this.book.clock.now();
    const previousEnd =
      Number(record.epochs.find((x) => Number(x.epoch) === e - 1)?.epochEndMs ?? 0) ||
      record.epochEndMs[e - 2];
    const begin = e === 1 ? record.trainStartMs || record.startedAtMs : (previousEnd ?? end);
    const full: EvaluationResult = { ...result, trainSeconds: Math.max(0, (end - begin) / 1000) };
    record.epochs.push(full);
    record.epochs.sort((a, b) => Number(a.epoch) - Number(b.epoch));
    if (predictionsCsv.length > 0) record.predictionsCsv = predictionsCsv;
    this.book.events.publish(jobId, { event: 'epoch', epoch: full });
    this.book.save(record);
    // The last epoch's report is the evaluator's last word: the job may be complete now.
    void this.ends.maybeFinish(record);
    this.book.logger.info(
      { jobId, epoch: result.epoch, testAccuracy: result.testAccuracy, trainers: trainers.length },
      'epoch evaluated',
    );
  }

  /** Records the backend a trainer reported. */
  setBackend(jobId: string, backend: string): void {
    const record = this.book.jobs.get(jobId);
    if (record && backend.length <= LIMITS.maxIdLength) record.backend = backend;
  }

  /**
   * Forwards one worker log line to the job's log events (warnings and errors only). Not once the
   * job has ended: its final state stays the last event of its history (a worker told to stop by
   * a late heartbeat warns "coordinator asked to stop" while the job has already succeeded).
   */
  workerLog(jobId: string, source: string, line: string): void {
    const record = this.book.jobs.get(jobId);
    if (record === undefined || isTerminal(record.state)) return;
    let level = 'info';
    let message = line;
    try {
      const parsed = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      level = (parsed.level ?? 30) >= 50 ? 'error' : (parsed.level ?? 30) >= 40 ? 'warn' : 'info';
      message = parsed.err?.message ? `${parsed.msg ?? ''}: ${parsed.err.message}` : (parsed.msg ?? line);
    } catch {
      level = /error/i.test(line) ? 'error' : 'info';
    }
    if (level !== 'info') this.book.events.publish(jobId, { event: 'log', log: { level, source, message } });
  }
}

/** A heartbeat's progress within the job's own bounds (a 2^53 global step is a client mistake). */
function checkProgress(p: JobProgress, record: JobRecord): void {
  const total = record.stepsPerEpoch * record.job.spec.epochs;
  checkInt('progress.global_step', Number(p.globalStep ?? 0), 0, total, `the job has ${total} steps`);
  checkInt('progress.total_steps', Number(p.totalSteps ?? 0), 0, LIMITS.maxSteps);
  checkInt(
    'progress.epoch',
    p.epoch ?? 0,
    0,
    record.job.spec.epochs,
    `the job has ${record.job.spec.epochs} epochs`,
  );
  checkInt('progress.step_in_epoch', p.stepInEpoch ?? 0, 0, total);
  checkInt('progress.steps_per_epoch', p.stepsPerEpoch ?? 0, 0, LIMITS.maxStepsPerEpoch);
  const sps = Number(p.samplesPerSecond ?? 0);
  if (!Number.isFinite(sps) || sps < 0)
    throw new ValidationError(
      'progress.samples_per_second',
      `must be a finite non-negative number, got ${sps}`,
    );
}

/** An evaluation within the job's bounds. */
function checkEvaluation(r: EvaluationResult, record: JobRecord): void {
  const epochs = record.job.spec.epochs;
  checkInt('result.epoch', Number(r.epoch ?? 0), 1, epochs, `the job has ${epochs} epochs`);
  checkInt('result.num_classes', Number(r.numClasses ?? 0), 0, 100_000);
  const classes = Number(r.numClasses ?? 0);
  if ((r.perClassAccuracy?.length ?? 0) > classes)
    throw new ValidationError(
      'result.per_class_accuracy',
      `must have at most num_classes (${classes}) entries`,
    );
  if ((r.confusion?.length ?? 0) > classes * classes)
    throw new ValidationError(
      'result.confusion',
      `must have at most num_classes^2 (${classes * classes}) entries`,
    );
  const acc = Number(r.testAccuracy ?? 0);
  if (!(acc >= 0 && acc <= 1) && Number.isFinite(Number(r.testLoss ?? 0)))
    throw new ValidationError('result.test_accuracy', `must be between 0 and 1, got ${clip(acc)}`);
}
