import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateError } from './errors.ts';
import {
  JOB_STATE_NAMES,
  JobStates,
  canTransition,
  checkTransition,
  isJobStateName,
  isTerminal,
  jobStateLabel,
} from './job-state.ts';

test('terminal states are exactly succeeded, failed and cancelled', () => {
  assert.deepEqual(
    JOB_STATE_NAMES.filter((s) => isTerminal(s)),
    [JobStates.succeeded, JobStates.failed, JobStates.cancelled],
  );
  assert.equal(isTerminal('JOB_STATE_UNSPECIFIED'), false);
});

test('state names and labels', () => {
  assert.equal(isJobStateName('JOB_STATE_RUNNING'), true);
  assert.equal(isJobStateName('JOB_STATE_UNSPECIFIED'), false);
  assert.equal(isJobStateName('running'), false);
  assert.equal(jobStateLabel(JobStates.cancelled), 'cancelled');
});

test('allowed transitions', () => {
  assert.equal(canTransition(JobStates.pending, JobStates.running), true);
  assert.equal(canTransition(JobStates.pending, JobStates.cancelled), true);
  assert.equal(canTransition(JobStates.pending, JobStates.succeeded), false);
  assert.equal(canTransition(JobStates.running, JobStates.succeeded), true);
  assert.equal(canTransition(JobStates.running, JobStates.pending), false);
  for (const end of [JobStates.succeeded, JobStates.failed, JobStates.cancelled])
    for (const to of JOB_STATE_NAMES) assert.equal(canTransition(end, to), false);
});

test('checkTransition throws a StateError naming the job and the allowed moves', () => {
  checkTransition('j-1', JobStates.running, JobStates.failed);
  assert.throws(
    () => checkTransition('j-1', JobStates.succeeded, JobStates.running),
    (err: unknown) =>
      err instanceof StateError && err.jobId === 'j-1' && /JOB_STATE_SUCCEEDED is final/.test(err.message),
  );
  assert.throws(
    () => checkTransition('j-2', JobStates.pending, JobStates.succeeded),
    /from JOB_STATE_PENDING it can go to JOB_STATE_RUNNING, JOB_STATE_FAILED, JOB_STATE_CANCELLED/,
  );
});
