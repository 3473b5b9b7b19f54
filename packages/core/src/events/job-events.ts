import type { JobEvent } from '../generated/distrain/v1/JobEvent.ts';

/**
 * NATS job events, payload version 1: one JSON object per message on
 * `distrain.job.<jobId>.<type>`, with the JSON Schemas in `schemas/events/job-<type>.v1.schema.json`.
 * The coordinator publishes them (to the JetStream stream {@link JOB_EVENTS_STREAM}, which keeps them
 * for replay) and reads them back after a restart.
 */
export const JOB_EVENT_VERSION = 1;

/** Subject prefix of every job event. */
export const JOB_SUBJECT_PREFIX = 'distrain.job';

/** Default JetStream stream holding every job event (subjects `distrain.job.>`). */
export const JOB_EVENTS_STREAM = 'DISTRAIN_JOB_EVENTS';

/** Default JetStream key-value bucket holding job records (key: job id). */
export const JOB_RECORDS_BUCKET = 'distrain-jobs';

/** Default JetStream Object Store bucket holding ended jobs' final artifacts (parameters, predictions). */
export const JOB_RESULTS_BUCKET = 'distrain-results';

/** Event types, as the last subject token. */
export const JOB_EVENT_TYPES = ['state', 'step', 'epoch', 'log'] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

/** The subject of one job's events of one type (`distrain.job.mnist-mlp-1a2b3c.step`). */
export function jobSubject(jobId: string, type: JobEventType): string {
  return `${JOB_SUBJECT_PREFIX}.${jobId}.${type}`;
}

/** The wildcard subject of one job's events, or of every job's (`distrain.job.>`). */
export function jobSubjectFilter(jobId?: string): string {
  return jobId === undefined ? `${JOB_SUBJECT_PREFIX}.>` : `${JOB_SUBJECT_PREFIX}.${jobId}.*`;
}

/** Job states in payloads: the short names users see. */
export type JobStateWord = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Cancelled';

interface Envelope<T extends JobEventType> {
  type: T;
  version: typeof JOB_EVENT_VERSION;
  jobId: string;
  sequence: number;
  timeMs: number;
}

/** `distrain.job.<id>.state`: the job entered a state. */
export interface JobStatePayload extends Envelope<'state'> {
  state: JobStateWord;
  reason: string;
}

/** `distrain.job.<id>.step`: a trainer's progress (throttled). */
export interface JobStepPayload extends Envelope<'step'> {
  rank: number;
  epoch: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  globalStep: number;
  totalSteps: number;
  /** null when not finite (JSON has no NaN). */
  loss: number | null;
  samplesPerSecond: number;
  /** Learning rate of the last applied update. */
  learningRate?: number;
}

/** `distrain.job.<id>.epoch`: an evaluated epoch. */
export interface JobEpochPayload extends Envelope<'epoch'> {
  epoch: number;
  /** Parameter version evaluated (the global step at the epoch's end). */
  paramsVersion: number;
  testAccuracy: number;
  testLoss: number | null;
  numSamples: number;
  numClasses: number;
  perClassAccuracy: number[];
  confusion: number[];
  trainSeconds: number;
  evalSeconds: number;
  /** Regression datasets only: testLoss is the MSE and this the mean absolute error. */
  testMae?: number;
}

/** `distrain.job.<id>.log`: a warning or error. */
export interface JobLogPayload extends Envelope<'log'> {
  level: 'debug' | 'info' | 'warn' | 'error';
  source: string;
  message: string;
}

/** Any version-1 job event payload. */
export type JobEventPayload = JobStatePayload | JobStepPayload | JobEpochPayload | JobLogPayload;

const finiteOrNull = (x: unknown): number | null => {
  const n = Number(x);
  return Number.isFinite(n) ? n : null;
};
const num = (x: unknown): number => Number(x ?? 0);

function stateWord(state: string): JobStateWord {
  const s = state.replace(/^JOB_STATE_/, '').toLowerCase();
  return (s.charAt(0).toUpperCase() + s.slice(1)) as JobStateWord;
}

const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

/** The NATS payload of a job event (the wire `JobEvent` the gRPC WatchJob streams). */
export function toEventPayload(e: JobEvent): JobEventPayload {
  const base = {
    version: JOB_EVENT_VERSION,
    jobId: e.jobId ?? '',
    sequence: num(e.sequence),
    timeMs: num(e.timeMs),
  } as const;
  switch (e.event) {
    case 'state':
      return {
        type: 'state',
        ...base,
        state: stateWord(String(e.state?.state ?? '')),
        reason: e.state?.reason ?? '',
      };
    case 'step': {
      const p = e.step?.progress ?? {};
      return {
        type: 'step',
        ...base,
        rank: num(e.step?.rank),
        epoch: num(p.epoch),
        stepInEpoch: num(p.stepInEpoch),
        stepsPerEpoch: num(p.stepsPerEpoch),
        globalStep: num(p.globalStep),
        totalSteps: num(p.totalSteps),
        loss: finiteOrNull(p.loss),
        samplesPerSecond: Math.max(0, num(p.samplesPerSecond)),
        // Absent before any update (and from coordinators older than the field).
        ...(num(p.learningRate) > 0 ? { learningRate: num(p.learningRate) } : {}),
      };
    }
    case 'epoch': {
      const r = e.epoch ?? {};
      return {
        type: 'epoch',
        ...base,
        epoch: num(r.epoch),
        paramsVersion: num(r.version),
        testAccuracy: num(r.testAccuracy),
        testLoss: finiteOrNull(r.testLoss),
        numSamples: num(r.numSamples),
        numClasses: num(r.numClasses),
        perClassAccuracy: (r.perClassAccuracy ?? []).map(num),
        confusion: (r.confusion ?? []).map(num),
        trainSeconds: num(r.trainSeconds),
        evalSeconds: num(r.evalSeconds),
        ...(r.regression === true ? { testMae: num(r.testMae) } : {}),
      };
    }
    default: {
      const level = e.log?.level ?? 'info';
      return {
        type: 'log',
        ...base,
        level: (LEVELS.has(level) ? level : 'info') as JobLogPayload['level'],
        source: e.log?.source ?? '',
        message: e.log?.message ?? '',
      };
    }
  }
}

/** The wire `JobEvent` of a payload (replay after a coordinator restart); inverse of {@link toEventPayload}. */
export function fromEventPayload(p: JobEventPayload): JobEvent {
  const base = { jobId: p.jobId, sequence: p.sequence, timeMs: p.timeMs };
  switch (p.type) {
    case 'state':
      return {
        ...base,
        event: 'state',
        state: { state: `JOB_STATE_${p.state.toUpperCase()}` as 'JOB_STATE_RUNNING', reason: p.reason },
      };
    case 'step':
      return {
        ...base,
        event: 'step',
        step: {
          rank: p.rank,
          progress: {
            epoch: p.epoch,
            stepInEpoch: p.stepInEpoch,
            stepsPerEpoch: p.stepsPerEpoch,
            globalStep: p.globalStep,
            totalSteps: p.totalSteps,
            loss: p.loss ?? Number.NaN,
            samplesPerSecond: p.samplesPerSecond,
            ...(p.learningRate === undefined ? {} : { learningRate: p.learningRate }),
          },
        },
      };
    case 'epoch':
      return {
        ...base,
        event: 'epoch',
        epoch: {
          epoch: p.epoch,
          version: p.paramsVersion,
          testAccuracy: p.testAccuracy,
          testLoss: p.testLoss ?? Number.NaN,
          numSamples: p.numSamples,
          numClasses: p.numClasses,
          perClassAccuracy: p.perClassAccuracy,
          confusion: p.confusion,
          trainSeconds: p.trainSeconds,
          evalSeconds: p.evalSeconds,
          ...(p.testMae === undefined ? {} : { regression: true, testMae: p.testMae }),
        },
      };
    default:
      return { ...base, event: 'log', log: { level: p.level, source: p.source, message: p.message } };
  }
}
