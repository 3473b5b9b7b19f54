/**
 * The training bench's choice of the run it reports over interleaved rounds: the run with the median
 * samples/s (its breakdown and accuracy come from that real run), the median time to 85% over the
 * rounds that reached it, and no time when fewer than half of the rounds reached it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { laterEpochsNote, medianRun } from '../../bench/training.ts';
import type { Run, TrainingRuns } from '../../bench/training.ts';

const run = (samplesPerSecond: number, timeToTarget: number | null, accuracy = 0.85): Run => ({
  samplesPerSecond,
  timeToTarget,
  stepsToTarget: timeToTarget === null ? null : Math.round(timeToTarget * 50),
  evalEverySteps: 50,
  accuracy,
  backend: 'wasm',
});

void test('training bench: the median-speed run with the median time to 85%', () => {
  const m = medianRun([run(7000, 9, 0.851), run(5000, 7, 0.852), run(6000, 8, 0.853)]);
  assert.equal(m.samplesPerSecond, 6000);
  assert.equal(m.accuracy, 0.853, 'the accuracy of the median-speed run itself');
  assert.equal(m.timeToTarget, 8);
  assert.equal(m.stepsToTarget, 400);
});

void test('training bench: time to 85% only when at least half of the rounds reached it', () => {
  const reached = medianRun([run(6000, null), run(6100, 8), run(5900, 10)]);
  assert.equal(reached.samplesPerSecond, 6000);
  assert.equal(reached.timeToTarget, 8, 'the lower median of the two rounds that reached it');
  assert.equal(reached.stepsToTarget, 400);
  const missed = medianRun([run(6000, null), run(6100, 8), run(5900, null)]);
  assert.equal(missed.timeToTarget, null);
  assert.equal(missed.stepsToTarget, null);
  assert.equal(medianRun([run(6000, 9)]).timeToTarget, 9, 'one round: that run');
});

void test('training bench: the rate after the first epoch, against the in-process loop', () => {
  const withEpochs = (epochSeconds: number[]): Run => ({ ...run(6000, null), epochSeconds });
  const runs: TrainingRuns = new Map([
    ['in-process', withEpochs([7.5, 7.2, 7.0])],
    ['distrain-1', withEpochs([8.0, 7.6, 7.4])],
    ['distrain-2', withEpochs([9.0, 7.0, 7.5])],
  ]);
  const note = laterEpochsNote(runs) ?? '';
  assert.match(
    note,
    /in-process 7\.50 \/ 7\.20 \/ 7\.00; distrain-1 8\.00 \/ 7\.60 \/ 7\.40; distrain-2 9\.00/,
  );
  // (7.2 + 7.0) / (7.6 + 7.4) and (7.2 + 7.0) / (7.0 + 7.5): the first epoch left out.
  assert.match(note, /distrain-1 0\.947, distrain-2 0\.979/);
  runs.set('in-process', withEpochs([7.5]));
  assert.equal(laterEpochsNote(runs), undefined, 'one epoch: nothing after the first');
  runs.set('in-process', withEpochs([7.5, 7.2, 7.0]));
  runs.set('distrain-2', run(6000, null));
  assert.equal(laterEpochsNote(runs), undefined, 'a run without epoch times');
});
