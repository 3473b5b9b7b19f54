/**
 * Text benchmark: samples/s of the LSTM language-identification example
 * (`examples/fortunes-language-lstm.yaml`, 2 trainers, `distrain run`) against the plain in-process
 * tfjs loop (`trainReference`) on the same backend, model, batch, data, initial weights and
 * optimizer, measured in the same run.
 *
 *   node --import tsx bench/text.ts [--json] [--quick]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  loadDataset,
  parseJobText,
  selectBackend,
  trainReference,
  validateJob,
} from '../packages/core/src/index.ts';
import type { DatasetSpecInput, LayerSpec } from '../packages/core/src/index.ts';
import { benchArgs, printRows, rateRow } from './common.ts';
import type { BenchRow } from './common.ts';
import { distrainRun } from './training.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SPEC = 'examples/fortunes-language-lstm.yaml';

/** Runs the text benchmark; returns its rows (accuracies go to `notes`). */
export async function runText(quick: boolean, notes: string[] = []): Promise<BenchRow[]> {
  const epochs = quick ? 1 : 2;
  const job = validateJob(parseJobText(readFileSync(`${ROOT}${SPEC}`, 'utf8')));
  const selected = await selectBackend('wasm');
  const data = await loadDataset(job.spec.dataset as DatasetSpecInput);
  const [first, ...rest] = job.spec.model.layers;
  const layers = [{ ...first, inputDim: data.text?.vocabulary.length }, ...rest] as LayerSpec[];
  const reference = await trainReference({
    layers,
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
  const refSeconds = reference.epochs.reduce((a, e) => a + e.seconds, 0);
  const refRate = (epochs * data.train.count) / refSeconds;
  const run = await distrainRun(2, epochs, selected.backend, SPEC);
  notes.push(
    `text: LSTM language ID after ${epochs} epoch(s): distrain 2 trainers ${run.accuracy}, in-process ${reference.epochs.at(-1)?.testAccuracy ?? 0}`,
  );
  return [
    rateRow(
      'text',
      'lstm_language_id_samples_per_s_2_trainers',
      'samples/s',
      run.samplesPerSecond,
      `in-process-tfjs-${selected.backend}`,
      refRate,
    ),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = benchArgs();
  const notes: string[] = [];
  printRows(await runText(args.quick, notes), args.json);
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
}
