import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  STEP_BREAKDOWN_MSG,
  StepBreakdown,
  breakdownFromLogLine,
  formatBreakdown,
} from './step-breakdown.ts';
import type { StepPhases } from './step-breakdown.ts';

const phases = (x: number): StepPhases => ({
  data: x,
  compute: 10 * x,
  encode: 0.5,
  transfer: 2 * x,
  barrierWait: 0,
  apply: 1,
  decode: 0.25,
  setParams: 0.125,
});

void test('StepBreakdown: medians per phase, odd and even counts, reset', () => {
  const b = new StepBreakdown();
  assert.ok(Number.isNaN(b.medians().compute), 'no steps: NaN, not 0');
  for (const x of [3, 1, 2]) b.add(phases(x), 20 * x);
  const m = b.medians();
  assert.equal(m.steps, 3);
  assert.equal(m.data, 2);
  assert.equal(m.compute, 20);
  assert.equal(m.transfer, 4);
  assert.equal(m.step, 40);
  b.add(phases(4), 80);
  assert.equal(b.medians().data, 2.5, 'even count: mean of the middle two');
  b.reset();
  assert.equal(b.steps, 0);
});

void test('breakdownFromLogLine: finds a trainer breakdown in a pino line, ignores others', () => {
  const b = new StepBreakdown();
  b.add(phases(1), 15);
  const line = JSON.stringify({ level: 30, msg: STEP_BREAKDOWN_MSG, rank: 1, epoch: 'all', ...b.medians() });
  const parsed = breakdownFromLogLine(line);
  assert.equal(parsed?.rank, 1);
  assert.equal(parsed?.epoch, 'all');
  assert.equal(parsed?.medians.compute, 10);
  assert.equal(parsed?.medians.step, 15);
  assert.equal(breakdownFromLogLine('{"msg":"epoch timing (ms)"}'), undefined);
  assert.equal(breakdownFromLogLine(`not json ${STEP_BREAKDOWN_MSG}`), undefined);
  const text = formatBreakdown(parsed?.medians ?? {});
  assert.match(
    text,
    /^step 15\.00 ms \(median of 1\) = data wait 1\.00 \| compute 10\.00 \| encode 0\.50 \| send\+receive 2\.00/,
  );
  assert.match(text, /server aggregate\+apply 1\.00 \| decode 0\.25 \| set parameters 0\.13$/);
});
