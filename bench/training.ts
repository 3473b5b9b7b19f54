/**
 * Training benchmark: samples/s and time to 85% test accuracy for the Fashion-MNIST MLP of
 * `examples/`, through the whole system (`distrain run`, 1 and 2 trainers) against a plain
 * single-process tfjs loop on the same backend, model, batch, data, initial weights and optimizer
 * (`trainReference`), measured in the same run. Time to 85% is at step granularity: every contender's
 * test accuracy is measured every EVAL_EVERY steps (evaluation time excluded; for distrain, parameter
 * snapshots pulled from the shards during the run and evaluated after it, see distrain-run.ts).
 *
 *   node --import tsx bench/training.ts [--json] [--quick]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseJobText, validateJob } from '@distrain/core';
import { loadDataset } from '@distrain/core/datasets';
import { selectBackend, trainReference } from '@distrain/core/model';
import type { BackendName } from '@distrain/core';
import { formatBreakdown } from '@distrain/core/metrics';
import { benchArgs, printRows, rateRow, timeRow } from './common.ts';
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
  };
}

/** Runs of one training benchmark, by contender (`distrain-1`, `distrain-2`, `in-process`). */
export type TrainingRuns = Map<string, Run>;

/** The per-trainer step breakdown lines of the distrain runs, for the bench's output. */
export function breakdownLines(runs: TrainingRuns): string[] {
  const out: string[] = [];
  for (const [name, run] of runs) {
    for (const [rank, m] of [...(run.breakdown ?? new Map())].sort((a, b) => a[0] - b[0]))
      out.push(`${name} trainer ${rank}: ${formatBreakdown(m)}`);
  }
  return out;
}

/** Runs the training benchmark; returns its rows (and notes for what could not be measured). */
export async function runTraining(
  quick: boolean,
  notes: string[] = [],
  runs: TrainingRuns = new Map(),
): Promise<BenchRow[]> {
  const epochs = quick ? 1 : 3;
  const reference = await referenceRun(epochs, 'wasm');
  runs.set('in-process', reference);
  const rows: BenchRow[] = [];
  for (const trainers of [1, 2]) {
    const run = await distrainRun({
      trainers,
      epochs,
      backend: reference.backend as BackendName,
      evalEvery: EVAL_EVERY,
    });
    runs.set(`distrain-${trainers}`, run);
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
        `time to 85% with ${trainers} trainer(s): not reached in ${epochs} epoch(s) (final accuracy: distrain ${run.accuracy}, in-process ${reference.accuracy})`,
      );
    }
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = benchArgs();
  const notes: string[] = [];
  const runs: TrainingRuns = new Map();
  printRows(await runTraining(args.quick, notes, runs), args.json);
  for (const l of breakdownLines(runs)) process.stderr.write(`step breakdown (median ms), ${l}\n`);
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
}
