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
import {
  loadDataset,
  parseJobText,
  selectBackend,
  trainReference,
  validateJob,
} from '../packages/core/src/index.ts';
import { benchArgs, printRows, rateRow, timeRow } from './common.ts';
import type { BenchRow } from './common.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SPEC = 'examples/fashion-mnist-mlp.yaml';
const TARGET = 0.85;

/** One measured training run. */
export interface Run {
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

/** `distrain run` of an example (default: the Fashion-MNIST MLP) through the whole system. */
export function distrainRun(trainers: number, epochs: number, backend: string, spec = SPEC): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        `${ROOT}packages/cli/bin/distrain.js`,
        'run',
        spec,
        '--trainers',
        String(trainers),
        '--epochs',
        String(epochs),
        '--backend',
        backend,
        '--json',
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
      });
    });
  });
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
  printRows(await runTraining(args.quick, notes), args.json);
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
}
