/**
 * `npm run bench`: every benchmark, each against peers measured in the same run, as a table or
 * (`--json`) one JSON object per line: {"bench","metric","value","unit","peer","peerValue","ratio"}.
 * `--quick` runs one epoch and the small scale grid (a few minutes at load 1); the full run is
 * longer (3 epochs, the whole scale grid). `--only a,b` picks
 * benchmarks (transport, aggregation, loader, training, reference, scale, text). `scale` is a
 * projection with synthetic compute (bench/scale.ts), labelled as such.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { printRows, rateRow, withServiceMallocSettings } from './common.ts';
import type { BenchRow } from './common.ts';
import { runAggregation } from './aggregation.ts';
import { breakdownLines, runTraining } from './training.ts';
import type { TrainingRuns } from './training.ts';
import { runReference } from './reference.ts';
import { printScaleTable, runScale } from './scale.ts';
import type { ScalePoint } from './scale.ts';
import { runText } from './text.ts';

withServiceMallocSettings();
const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const json = values.json === true;
const quick = values.quick === true;
const only = values.only ? new Set(values.only.split(',')) : undefined;
const wanted = (name: string): boolean => only === undefined || only.has(name);
const here = fileURLToPath(new URL('./', import.meta.url));
const notes: string[] = [];
const rows: BenchRow[] = [];

/** Runs a benchmark script in its own process (they start servers of their own) and reads its JSON lines. */
function child(script: string, args: string[]): Record<string, unknown>[] {
  const res = spawnSync(process.execPath, ['--import', 'tsx', `${here}${script}`, '--json', ...args], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  if (res.status !== 0) throw new Error(`${script} failed (${res.status}): ${res.stderr.slice(-2000)}`);
  return res.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function emit(newRows: BenchRow[]): void {
  rows.push(...newRows);
  if (json) printRows(newRows, true);
}

const started = performance.now();
if (!json)
  process.stderr.write(
    `distrain benchmarks (${quick ? 'quick' : 'full'}) on ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}\n`,
  );
if (wanted('transport')) emit(child('transport.ts', quick ? ['--quick'] : []) as unknown as BenchRow[]);
if (wanted('aggregation')) emit(runAggregation(quick));
if (wanted('loader')) {
  const r = child('loader.ts', ['--runs', quick ? '15' : '25'])[0] as {
    loaderMBps: number;
    bareGrpcMBps: number;
    rawTcpMBps: number;
  };
  emit([
    rateRow('loader', 'fashion_mnist_batch128_MBps', 'MB/s', r.loaderMBps, 'bare-grpc', r.bareGrpcMBps),
    rateRow('loader', 'fashion_mnist_batch128_MBps', 'MB/s', r.loaderMBps, 'raw-tcp', r.rawTcpMBps),
  ]);
}
const runs: TrainingRuns = new Map();
if (wanted('training')) emit(await runTraining(quick, notes, runs));
if (wanted('reference')) emit(await runReference(quick, notes, runs));
let scalePoints: ScalePoint[] = [];
if (wanted('scale')) {
  const scale = await runScale({ quick });
  scalePoints = scale.points;
  emit(scale.rows);
}
if (wanted('text')) emit(await runText(quick, notes));
if (!json) printRows(rows, false);
if (scalePoints.length > 0) printScaleTable(scalePoints);
for (const l of breakdownLines(runs)) process.stderr.write(`step breakdown, ${l}\n`);
for (const n of notes) process.stderr.write(`note: ${n}\n`);
process.stderr.write(`benchmarks took ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
