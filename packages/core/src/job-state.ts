import { StateError } from './errors.ts';

/** Job states, as on the wire (`distrain.v1.JobState`, less `JOB_STATE_UNSPECIFIED`). */
export const JobStates = {
  pending: 'JOB_STATE_PENDING',
  running: 'JOB_STATE_RUNNING',
  succeeded: 'JOB_STATE_SUCCEEDED',
  failed: 'JOB_STATE_FAILED',
  cancelled: 'JOB_STATE_CANCELLED',
} as const;
/** One job state as on the wire. */
export type JobStateName = (typeof JobStates)[keyof typeof JobStates];
/** One job state as a short lower-case label (`running`): metrics labels, CLI columns. */
export type JobStateLabel = keyof typeof JobStates;

/** Every state, in lifecycle order. */
export const JOB_STATE_NAMES: readonly JobStateName[] = Object.freeze(Object.values(JobStates));

const TERMINAL: ReadonlySet<JobStateName> = new Set([
  JobStates.succeeded,
  JobStates.failed,
  JobStates.cancelled,
]);

/**
 * The allowed moves. A job is admitted Pending; it runs once its parameter servers hold it; it can be
 * cancelled or fail from either; only a Running job succeeds. Ended states are final.
 */
const TRANSITIONS: Readonly<Record<JobStateName, readonly JobStateName[]>> = {
  [JobStates.pending]: [JobStates.running, JobStates.failed, JobStates.cancelled],
  [JobStates.running]: [JobStates.succeeded, JobStates.failed, JobStates.cancelled],
  [JobStates.succeeded]: [],
  [JobStates.failed]: [],
  [JobStates.cancelled]: [],
};

/** True for a wire state name (`JOB_STATE_RUNNING`); false for `JOB_STATE_UNSPECIFIED` and anything else. */
export function isJobStateName(value: unknown): value is JobStateName {
  return typeof value === 'string' && (JOB_STATE_NAMES as readonly string[]).includes(value);
}

/** True for Succeeded, Failed and Cancelled (an unknown value is not terminal). */
export function isTerminal(state: unknown): boolean {
  return TERMINAL.has(state as JobStateName);
}

/** The short label of a state: `JOB_STATE_SUCCEEDED` -> `succeeded`. */
export function jobStateLabel(state: JobStateName): JobStateLabel {
  return state.replace(/^JOB_STATE_/, '').toLowerCase() as JobStateLabel;
}

/** True when a job may move from `from` to `to`. */
export function canTransition(from: JobStateName, to: JobStateName): boolean {
  return TRANSITIONS[from].includes(to);
}

/**
 * Checks one move of a job's state; throws a {@link StateError} naming the job, both states and the
 * allowed moves when it is not allowed.
 */
export function checkTransition(jobId: string, from: JobStateName, to: JobStateName): void {
  if (canTransition(from, to)) return;
  const allowed = TRANSITIONS[from];
  throw new StateError(
    `job ${jobId} cannot go from ${from} to ${to}; ${
      allowed.length === 0 ? `${from} is final` : `from ${from} it can go to ${allowed.join(', ')}`
    }`,
    { jobId },
  );
}
