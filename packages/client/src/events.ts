import type { TrainingJobSpec } from '@distrain/core';
import type {
  EvaluationResult__Output,
  JobEvent__Output,
  LogEvent__Output,
  StateEvent__Output,
  StepEvent__Output,
} from '@distrain/core';

/** A state change: PENDING -> RUNNING -> SUCCEEDED / FAILED / CANCELLED, with the reason. */
export type StateWatchEvent = JobEvent__Output & { event: 'state'; state: StateEvent__Output };
/** A trainer's step progress (epoch, step, loss, samples per second). */
export type StepWatchEvent = JobEvent__Output & { event: 'step'; step: StepEvent__Output };
/** An epoch's evaluation on the test set (accuracy, loss, confusion matrix). */
export type EpochWatchEvent = JobEvent__Output & { event: 'epoch'; epoch: EvaluationResult__Output };
/** A log line of the coordinator or a worker. */
export type LogWatchEvent = JobEvent__Output & { event: 'log'; log: LogEvent__Output };

/**
 * One event of a job's history, as the JobService streams it, narrowed by its `event` field:
 * `switch (e.event) { case 'epoch': e.epoch.testAccuracy ... }`. `sequence` grows by event.
 */
export type WatchEvent = StateWatchEvent | StepWatchEvent | EpochWatchEvent | LogWatchEvent;

type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/**
 * A TrainingJob as a user writes it: `spec` fields with defaults may be left out (the coordinator
 * fills them in and validates the whole). The validated form is `TrainingJob`.
 */
export interface TrainingJobInput {
  apiVersion: 'distrain.io/v1';
  kind: 'TrainingJob';
  metadata: { name: string };
  spec: DeepPartial<TrainingJobSpec>;
}
