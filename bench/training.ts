/**
 * Training benchmark: samples/s and time to 85% test accuracy for the Fashion-MNIST MLP of
 * `examples/`, through the whole system (`distrain run`, 1 and 2 trainers) against a plain
 * single-process tfjs loop on the same backend, model, batch, data, initial weights and optimizer
 * (`trainReference`), measured in the same run.
 *
 *   node --import tsx bench/training.ts [--json] [--quick]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { parseJobText, validateJob } from '@distrain/core';
import { loadDataset } from '@distrain/core/datasets';
import { breakdownFromLogLine, formatBreakdown } from '@distrain/core/metrics';
import { selectBackend, trainReference } from '@distrain/core/model';
import { benchArgs, printRows, rateRow, timeRow } from './common.ts';
import type { BenchRow } from './common.ts';
import type { LoggedBreakdown } from '@distrain/core/metrics';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SPEC = 'examples/fashion-mnist-mlp.yaml';
const TARGET = 0.85;

/** One measured training run. */
export interface Run {
  /** Each trainer's median step breakdown over the run (ms), by rank; distrain runs only. */
  breakdown?: Map<number, LoggedBreakdown['medians']>;
  samplesPerSecond: number;
  /** Seconds of training until the first epoch at or above the target, or null if never. */
  timeToTarget: number | null;
  accuracy: number;
  backend: string;
}

function timeToTarget(epochs: { testAccuracy: number; seconds: number }[]): number | null {
  let t = 0;
  for (const e of epochs) {
    t += e.seconds;
    if (e.testAccuracy >= TARGET) return t;
  }
  return null;
}

/** `distrain run` of the example through the whole system. */
export function distrainRun(trainers: number, epochs: number, backend: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        `${ROOT}packages/cli/bin/distrain.js`,
        'run',
        SPEC,
        '--trainers',
        String(trainers),
        '--epochs',
        String(epochs),
        '--backend',
        backend,
        '--json',
        // Verbose: the trainers' logs carry their step breakdown.
        '-v',
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const breakdown = new Map<number, LoggedBreakdown['medians']>();
    createInterface({ input: child.stderr }).on('line', (line) => {
      const b = breakdownFromLogLine(line.slice(Math.max(0, line.indexOf('{'))));
      if (b && b.epoch === 'all') breakdown.set(b.rank, b.medians);
    });
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`distrain run failed (${code}): ${err}`));
      const s = JSON.parse(last) as {
        samplesPerSecond: number;
        finalTestAccuracy: number;
        backend: string;
        epochs: { testAccuracy: number; seconds: number }[];
      };
      resolve({
        samplesPerSecond: s.samplesPerSecond,
        timeToTarget: timeToTarget(s.epochs),
        accuracy: s.finalTestAccuracy,
        backend: s.backend,
        breakdown,
      });
    });
  });
}

/** The per-trainer step breakdown lines of the distrain runs, for the bench's output. */
export function breakdownLines(runs: TrainingRuns): string[] {
  const out: string[] = [];
  for (const [name, run] of runs) {
    for (const [rank, m] of [...(run.breakdown ?? new Map<number, LoggedBreakdown['medians']>())].sort(
      (a, b) => a[0] - b[0],
    ))
      out.push(`${name} trainer ${rank}: ${formatBreakdown(m)}`);
  }
  return out;
}

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
    seed: job.spec.seed,
    train: data.train,
    test: data.test,
    featureShape: data.featureShape,
    featureScale: data.featureScale,
    numClasses: data.numClasses,
  });
  const samples = epochs * data.train.count;
  const seconds = result.epochs.reduce((a, e) => a + e.seconds, 0);
  return {
    samplesPerSecond: samples / seconds,
    timeToTarget: timeToTarget(result.epochs),
    accuracy: result.epochs.at(-1)?.testAccuracy ?? 0,
    backend: selected.backend,
  };
}

/** Runs of one training benchmark, by contender (`distrain-1`, `distrain-2`, `in-process`). */
export type TrainingRuns = Map<string, Run>;

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
    const run = await distrainRun(trainers, epochs, reference.backend);
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
        `time to 85% with ${trainers} trainer(s): not reached in ${epochs} epoch(s) (distrain ${run.accuracy}, reference ${reference.accuracy})`,
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
