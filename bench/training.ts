/**
 * Training benchmark: samples/s and time to 85% test accuracy for the Fashion-MNIST MLP of
 * `examples/`, through the whole system (`distrain run`, 1 and 2 trainers) against a plain
 * single-process tfjs loop on the same backend, model, batch, data, initial weights and optimizer
 * (`trainReference`), measured in the same run. Time to 85% is at step granularity: every contender's
 * test accuracy is measured every EVAL_EVERY steps (evaluation time excluded; for distrain, parameter
 * snapshots pulled from the shards during the run and evaluated after it, see distrain-run.ts).
 * The three contenders run three times, interleaved in rotated order, and the median run counts: one
 * run each swung the ratios by ±10% on a shared 2-core machine.
 *
 *   node --import tsx bench/training.ts [--json] [--quick]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseJobText, validateJob } from '@distrain/core';
import { loadDataset } from '@distrain/core/datasets';
import { selectBackend, trainReference } from '@distrain/core/model';
import type { BackendName } from '@distrain/core';
import { formatBreakdown, formatMeans } from '@distrain/core/metrics';
import { benchArgs, printRows, rateRow, sig, timeRow, withServiceMallocSettings } from './common.ts';
import type { BenchRow } from './common.ts';
import { SPEC, TARGET, distrainRun } from './distrain-run.ts';
import type { Run } from './distrain-run.ts';

export type { Run } from './distrain-run.ts';
const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Test accuracy is measured every this many steps by every contender (in-process, distrain, PyTorch). */
export const EVAL_EVERY = 50;

async function referenceRun(epochs: number, backend: 'wasm' | 'cpu' | 'tensorflow'): Promise<Run> {
  const job = validateJob(parseJobText(readFileSync(`${ROOT}${SPEC}`, 'utf8')));
  const selected = await selectBackend(backend);
  const data = await loadDataset({ name: 'fashion-mnist' });
  const result = await trainReference({
    layers: [...job.spec.model.layers],
    loss: job.spec.loss,
    optimizer: job.spec.optimizer,
    batchSize: job.spec.batchSize,
    epochs,
    evaluateEvery: EVAL_EVERY,
    seed: job.spec.seed,
    train: data.train,
    test: data.test,
    featureShape: data.featureShape,
    featureScale: data.featureScale,
    numClasses: data.numClasses,
  });
  const samples = epochs * data.train.count;
  const seconds = result.epochs.reduce((a, e) => a + e.seconds, 0);
  const hit = result.evaluations.find((e) => e.testAccuracy >= TARGET);
  return {
    samplesPerSecond: samples / seconds,
    timeToTarget: hit?.seconds ?? null,
    stepsToTarget: hit?.step ?? null,
    evalEverySteps: EVAL_EVERY,
    accuracy: result.epochs.at(-1)?.testAccuracy ?? 0,
    backend: selected.backend,
    epochSeconds: result.epochs.map((e) => e.seconds),
  };
}

/** Runs of one training benchmark, by contender (`distrain-1`, `distrain-2`, `in-process`). */
export type TrainingRuns = Map<string, Run>;

/** The per-trainer step breakdown lines of the distrain runs, for the bench's output. */
export function breakdownLines(runs: TrainingRuns): string[] {
  const out: string[] = [];
  for (const [name, run] of runs) {
    for (const [rank, b] of [...(run.breakdown ?? new Map())].sort((x, y) => x[0] - y[0])) {
      out.push(`${name} trainer ${rank}: ${formatBreakdown(b.medians)}`);
      if (b.means) out.push(`${name} trainer ${rank}: ${formatMeans(b.means)}`);
    }
  }
  return out;
}

/**
 * With two or more epochs: each reported run's seconds per epoch, and each distrain run's rate after
 * the first epoch as a ratio to the in-process loop's (the same samples each epoch, so the ratio of
 * the seconds). The first epoch carries the warm-up: every trainer process compiles the hot code paths
 * of tfjs and its own (V8's optimizing compiler on helper threads), which with two trainers on two
 * cores competes with the training, while the single in-process loop compiles on the idle core.
 * Undefined with one epoch or without epoch times.
 */
export function laterEpochsNote(runs: TrainingRuns): string | undefined {
  const reference = runs.get('in-process')?.epochSeconds;
  if (reference === undefined || reference.length < 2) return undefined;
  const later = (s: readonly number[]): number => s.slice(1).reduce((a, b) => a + b, 0);
  const perEpoch: string[] = [];
  const ratios: string[] = [];
  for (const [name, run] of runs) {
    const s = run.epochSeconds;
    if (s === undefined || s.length !== reference.length) return undefined;
    perEpoch.push(`${name} ${s.map((x) => x.toFixed(2)).join(' / ')}`);
    if (name !== 'in-process') ratios.push(`${name} ${sig(later(reference) / later(s), 3)}`);
  }
  return `training seconds per epoch (reported runs): ${perEpoch.join('; ')}; rate after the first epoch, as a ratio to the in-process loop's: ${ratios.join(', ')} (distrain's evaluator evaluates the previous epoch meanwhile)`;
}

/** The contenders of one round, in the order they run in round `round` (each position once in 3). */
const CONTENDERS = ['in-process', 'distrain-1', 'distrain-2'] as const;
type Contender = (typeof CONTENDERS)[number];

/**
 * The run of a contender over the rounds that the rows report: the one with the median samples/s
 * (its breakdown and accuracy are a real run's), with the median time to 85% of the rounds (null
 * when fewer than half reached it).
 */
export function medianRun(runs: readonly Run[]): Run {
  const bySpeed = [...runs].sort((a, b) => a.samplesPerSecond - b.samplesPerSecond);
  const mid = bySpeed[(bySpeed.length - 1) >> 1] as Run;
  const hits = runs.filter((r) => r.timeToTarget !== null);
  if (hits.length * 2 < runs.length) return { ...mid, timeToTarget: null, stepsToTarget: null };
  const byTime = [...hits].sort((a, b) => (a.timeToTarget as number) - (b.timeToTarget as number));
  const t = byTime[(byTime.length - 1) >> 1] as Run;
  return { ...mid, timeToTarget: t.timeToTarget, stepsToTarget: t.stepsToTarget };
}

/**
 * Runs the training benchmark; returns its rows (and notes for what could not be measured). The
 * three contenders run `rounds` times, interleaved and in rotated order (a machine that speeds up or
 * slows down during the bench moves every contender alike), and each row reports the median run.
 */
export async function runTraining(
  quick: boolean,
  notes: string[] = [],
  runs: TrainingRuns = new Map(),
  rounds = 3,
): Promise<BenchRow[]> {
  const epochs = quick ? 1 : 3;
  const all: Record<Contender, Run[]> = { 'in-process': [], 'distrain-1': [], 'distrain-2': [] };
  let backend: BackendName = 'wasm';
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < CONTENDERS.length; i++) {
      const who = CONTENDERS[(i + round) % CONTENDERS.length] as Contender;
      const run =
        who === 'in-process'
          ? await referenceRun(epochs, 'wasm')
          : await distrainRun({
              trainers: who === 'distrain-1' ? 1 : 2,
              epochs,
              backend,
              evalEvery: EVAL_EVERY,
            });
      if (who === 'in-process') backend = run.backend as BackendName;
      all[who].push(run);
      process.stderr.write(
        `training round ${round + 1}/${rounds}: ${who} ${Math.round(run.samplesPerSecond)} samples/s\n`,
      );
    }
  }
  for (const c of CONTENDERS) runs.set(c, medianRun(all[c]));
  const reference = runs.get('in-process') as Run;
  const perRound = (c: Contender): string =>
    all[c]
      .map((r, k) => sig(r.samplesPerSecond / (all['in-process'][k] as Run).samplesPerSecond, 3))
      .join(', ');
  notes.push(
    `training: ${rounds} interleaved round(s), median run reported; ratio to the in-process loop by round: 1 trainer ${perRound('distrain-1')}; 2 trainers ${perRound('distrain-2')}`,
  );
  const later = laterEpochsNote(runs);
  if (later !== undefined) notes.push(later);
  const reachedIn = (c: Contender): number => all[c].filter((r) => r.timeToTarget !== null).length;
  const rows: BenchRow[] = [];
  for (const trainers of [1, 2]) {
    const run = runs.get(`distrain-${trainers}`) as Run;
    rows.push(
      rateRow(
        'training',
        `samples_per_s_${trainers}_trainer${trainers > 1 ? 's' : ''}`,
        'samples/s',
        run.samplesPerSecond,
        `in-process-tfjs-${reference.backend}`,
        reference.samplesPerSecond,
      ),
    );
    if (run.timeToTarget !== null && reference.timeToTarget !== null) {
      rows.push(
        timeRow(
          'training',
          `time_to_85pct_${trainers}_trainer${trainers > 1 ? 's' : ''}`,
          's',
          run.timeToTarget,
          `in-process-tfjs-${reference.backend}`,
          reference.timeToTarget,
        ),
      );
    } else {
      notes.push(
        `time to 85% with ${trainers} trainer(s): not reached within ${epochs} epoch(s) in at least half of the rounds (rounds that reached it: distrain ${reachedIn(`distrain-${trainers}` as Contender)} of ${rounds}, in-process ${reachedIn('in-process')} of ${rounds}; median run's final accuracy: distrain ${run.accuracy}, in-process ${reference.accuracy})`,
      );
    }
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  withServiceMallocSettings();
  const args = benchArgs();
  const notes: string[] = [];
  const runs: TrainingRuns = new Map();
  printRows(await runTraining(args.quick, notes, runs), args.json);
  for (const l of breakdownLines(runs)) process.stderr.write(`step breakdown, ${l}\n`);
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
}
