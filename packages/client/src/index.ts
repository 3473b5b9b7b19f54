/** @distrain/client: a typed client of the distrain JobService. It never loads TensorFlow.js. */
export { DistrainClient, TERMINAL_STATES } from './client.ts';
export type { CallOptions, WatchOptions } from './client.ts';
export { ClientOptionsError, compileClientOptions } from './options.ts';
export type { ClientOptions, CompiledClientOptions, TlsOptions } from './options.ts';
export {
  AuthenticationError,
  CancelledError,
  DeadlineExceededError,
  InvalidArgumentError,
  JobConflictError,
  JobNotFoundError,
  JobServiceError,
  JobStateError,
  OverloadedError,
  UnavailableError,
  fromServiceError,
} from './errors.ts';
export type { JobServiceErrorContext } from './errors.ts';
export type {
  EpochWatchEvent,
  LogWatchEvent,
  StateWatchEvent,
  StepWatchEvent,
  TrainingJobInput,
  WatchEvent,
} from './events.ts';
export { configDir, ensureUserToken, readUserToken, resolveUserToken, userTokenPath } from './user-token.ts';
export type { Env } from './user-token.ts';
export { parsePredictionRows } from './predictions.ts';
export type { PredictionRow } from './predictions.ts';
/** Wire and spec types, re-exported so users need only this package. */
export type {
  EvaluationResult__Output as EvaluationResult,
  Job__Output as Job,
  JobProgress__Output as JobProgress,
  JobState__Output as JobState,
  TrainingJob,
  TrainingJobSpec,
} from '@distrain/core';
