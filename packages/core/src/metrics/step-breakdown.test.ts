import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  STEP_BREAKDOWN_MSG,
  StepBreakdown,
  breakdownFromLogLine,
  formatBreakdown,
  formatMeans,
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
  assert.equal(parsed?.ownSteps, undefined, 'not logged: unknown, not 0');
  const own = JSON.stringify({ msg: STEP_BREAKDOWN_MSG, rank: 0, epoch: 2, ...b.medians(), ownSteps: 469 });
  assert.equal(breakdownFromLogLine(own)?.ownSteps, 469);
  assert.equal(breakdownFromLogLine('{"msg":"epoch timing (ms)"}'), undefined);
  assert.equal(breakdownFromLogLine(`not json ${STEP_BREAKDOWN_MSG}`), undefined);
  const text = formatBreakdown(parsed?.medians ?? {});
  assert.match(
    text,
    /^step 15\.00 ms \(median of 1\) = data wait 1\.00 \| compute 10\.00 \| encode 0\.50 \| send\+receive 2\.00/,
  );
  assert.match(text, /aggregate\+apply 1\.00 \| decode 0\.25 \| set parameters 0\.13$/);
});

void test('StepBreakdown: means add up to the mean step, the rest is other', () => {
  const b = new StepBreakdown();
  assert.ok(Number.isNaN(b.means().step), 'no steps: NaN, not 0');
  // phases(x) covers 13x + 1.875 ms; the steps take 2 ms more than that, then 1 ms less than it.
  b.add(phases(1), 13 + 1.875 + 2);
  b.add(phases(3), 39 + 1.875 + 2);
  b.add(phases(2), 26 + 1.875 + 2);
  let m = b.means();
  assert.equal(m.steps, 3);
  assert.equal(m.step, 29.88, 'mean of 16.875, 42.875, 29.875, to 0.01');
  assert.equal(m.compute, 20);
  assert.equal(m.transfer, 4);
  assert.equal(m.other, 2);
  const sum =
    m.data + m.compute + m.encode + m.transfer + m.barrierWait + m.apply + m.decode + m.setParams + m.other;
  assert.ok(Math.abs(sum - m.step) < 0.02, `the means add up: ${sum} vs ${m.step}`);
  b.reset();
  b.add(phases(1), 14); // less than the phases cover (clocks of two machines): other is 0, not negative
  m = b.means();
  assert.equal(m.other, 0);
  // The median of a skewed run hides what samples/s sees: one slow step moves the mean only.
  const skewed = new StepBreakdown();
  for (const total of [10, 10, 10, 10, 60]) skewed.add(phases(0), total);
  assert.equal(skewed.medians().step, 10);
  assert.equal(skewed.means().step, 20);
});

void test('breakdownFromLogLine: the means of a line that has them, formatted as a sum', () => {
  const b = new StepBreakdown();
  b.add(phases(1), 17);
  const line = JSON.stringify({
    level: 30,
    msg: STEP_BREAKDOWN_MSG,
    rank: 0,
    epoch: 2,
    ...b.medians(),
    mean: b.means(),
  });
  const parsed = breakdownFromLogLine(line);
  assert.equal(parsed?.epoch, 2);
  assert.equal(parsed?.means?.step, 17);
  assert.equal(parsed?.means?.other, 2.13, '17 - 14.875, to 0.01');
  const text = formatMeans(parsed?.means ?? {});
  assert.match(text, /^mean step 17\.00 ms \(1 steps\) = data wait 1\.00 \+ compute 10\.00 \+ encode 0\.50/);
  assert.match(text, /set parameters 0\.13 \+ other 2\.13$/);
  const old = breakdownFromLogLine(JSON.stringify({ msg: STEP_BREAKDOWN_MSG, rank: 0, epoch: 1, step: 3 }));
  assert.equal(old?.means, undefined, 'a line without means (an older trainer) has none');
});
