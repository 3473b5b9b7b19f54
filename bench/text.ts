/**
 * Text benchmark: samples/s of the LSTM language-identification example
 * (`examples/fortunes-language-lstm.yaml`, 2 trainers, `distrain run` of the CLI as a child process)
 * against the plain in-process tfjs loop (`trainReference`) on the same backend, model, batch,
 * data, initial weights and optimizer, measured in the same run.
 *
 *   node --import tsx bench/text.ts [--json] [--quick]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseJobText, validateJob } from '@distrain/core';
import type { LayerSpec } from '@distrain/core';
import { loadDataset } from '@distrain/core/datasets';
import type { DatasetSpecInput } from '@distrain/core/datasets';
import { selectBackend, trainReference } from '@distrain/core/model';
import { benchArgs, printRows, rateRow, withServiceMallocSettings } from './common.ts';
import type { BenchRow } from './common.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SPEC = 'examples/fortunes-language-lstm.yaml';

/** The summary of one `distrain run --json` (its last line). */
interface CliRun {
  samplesPerSecond: number;
  accuracy: number | null;
  backend: string;
}

/** `distrain run <spec> --json` through the CLI, all roles as local processes. */
export function cliRun(spec: string, trainers: number, epochs: number, backend: string): Promise<CliRun> {
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
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-64_000)));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`distrain run failed (${code}): ${err}`));
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        const s = JSON.parse(last) as {
          samplesPerSecond: number;
          finalTestAccuracy: number | null;
          backend: string;
        };
        resolve({ samplesPerSecond: s.samplesPerSecond, accuracy: s.finalTestAccuracy, backend: s.backend });
      } catch (e) {
        reject(new Error(`distrain run: no JSON summary (${(e as Error).message}): ${last}`));
      }
    });
  });
}

/** Runs the text benchmark; returns its rows (accuracies go to `notes`). */
export async function runText(quick: boolean, notes: string[] = [], spec = SPEC): Promise<BenchRow[]> {
  const epochs = quick ? 1 : 2;
  const job = validateJob(parseJobText(readFileSync(`${ROOT}${spec}`, 'utf8')));
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
  const run = await cliRun(spec, 2, epochs, selected.backend);
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
  withServiceMallocSettings();
  const args = benchArgs();
  const notes: string[] = [];
  printRows(await runText(args.quick, notes), args.json);
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
}
