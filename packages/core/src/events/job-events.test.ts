import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { JobEvent } from '../generated/distrain/v1/JobEvent.ts';
import {
  JOB_EVENT_TYPES,
  fromEventPayload,
  jobSubject,
  jobSubjectFilter,
  toEventPayload,
} from './job-events.ts';

const SCHEMA_DIR = new URL('../../../../schemas/events/', import.meta.url);
const ajv = new Ajv({ allErrors: true, strict: true });
const validators = Object.fromEntries(
  JOB_EVENT_TYPES.map((t) => [
    t,
    ajv.compile(JSON.parse(readFileSync(new URL(`job-${t}.v1.schema.json`, SCHEMA_DIR), 'utf8')) as object),
  ]),
);

const base = { jobId: 'mnist-mlp-1a2b3c', sequence: 7, timeMs: 1_700_000_000_000 };
const samples: JobEvent[] = [
  { ...base, event: 'state', state: { state: 'JOB_STATE_RUNNING', reason: '' } },
  { ...base, event: 'state', state: { state: 'JOB_STATE_FAILED', reason: 'trainer rank 1 failed 3 times' } },
  {
    ...base,
    event: 'step',
    step: {
      rank: 1,
      progress: {
        epoch: 2,
        stepInEpoch: 5,
        stepsPerEpoch: 125,
        globalStep: 130,
        totalSteps: 250,
        loss: 0.42,
        samplesPerSecond: 512.5,
        learningRate: 0.00125,
      },
    },
  },
  {
    ...base,
    event: 'epoch',
    epoch: {
      epoch: 1,
      version: 125,
      testAccuracy: 0.9,
      testLoss: 0.35,
      numSamples: 4,
      perClassAccuracy: [1, 0.5],
      confusion: [2, 0, 1, 1],
      numClasses: 2,
      trainSeconds: 8.1,
      evalSeconds: 0.4,
    },
  },
  {
    ...base,
    event: 'log',
    log: { level: 'warn', source: 'coordinator', message: 'trainer rank 0 failed; restart 1 of 2' },
  },
];

test('every event type becomes a payload that matches its versioned schema, and converts back', () => {
  for (const e of samples) {
    const p = toEventPayload(e);
    const validate = validators[p.type];
    assert.ok(validate, p.type);
    assert.ok(validate(p), `${p.type}: ${ajv.errorsText(validate.errors)}`);
    assert.equal(p.version, 1);
    assert.deepEqual(fromEventPayload(p), e);
  }
});

test('state payloads carry the short state names; a NaN loss travels as null and comes back as NaN', () => {
  const state = toEventPayload(samples[0] as JobEvent);
  assert.equal(state.type === 'state' && state.state, 'Running');
  const nan: JobEvent = {
    ...base,
    event: 'step',
    step: {
      rank: 0,
      progress: {
        epoch: 1,
        stepInEpoch: 1,
        stepsPerEpoch: 1,
        globalStep: 1,
        totalSteps: 1,
        loss: Number.NaN,
        samplesPerSecond: 0,
      },
    },
  };
  const p = toEventPayload(nan);
  assert.ok(validators.step?.(p));
  assert.equal(p.type === 'step' && p.loss, null);
  assert.ok(Number.isNaN(fromEventPayload(p).step?.progress?.loss));
});

test('schemas reject what they must: wrong type, extra fields, a missing field', () => {
  const p = toEventPayload(samples[2] as JobEvent) as unknown as Record<string, unknown>;
  assert.equal(validators.state?.(p), false);
  assert.equal(validators.step?.({ ...p, extra: 1 }), false);
  const { rank: _rank, ...noRank } = p;
  assert.equal(validators.step?.(noRank), false);
});

test('subjects', () => {
  assert.equal(jobSubject('a-1', 'epoch'), 'distrain.job.a-1.epoch');
  assert.equal(jobSubjectFilter('a-1'), 'distrain.job.a-1.*');
  assert.equal(jobSubjectFilter(), 'distrain.job.>');
});
