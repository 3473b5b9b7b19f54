/** Shared pieces of the benchmarks: the result row, medians, argument parsing, output. */
import { parseArgs } from 'node:util';

/** One benchmark result against one peer measured in the same run (the `--json` line format). */
export interface BenchRow {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  peer: string;
  peerValue: number;
  /** value / peerValue for rates (higher is better); peerValue / value for times. */
  ratio: number;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Rounds to a few significant digits for printing. */
export function sig(x: number, digits = 4): number {
  return x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(digits));
}

function row(
  bench: string,
  metric: string,
  unit: string,
  value: number,
  peer: string,
  peerValue: number,
  ratio: number,
): BenchRow {
  return { bench, metric, value: sig(value), unit, peer, peerValue: sig(peerValue), ratio: sig(ratio, 3) };
}

/** Builds a row from a rate (higher is better). */
export function rateRow(
  bench: string,
  metric: string,
  unit: string,
  value: number,
  peer: string,
  peerValue: number,
): BenchRow {
  return row(bench, metric, unit, value, peer, peerValue, value / peerValue);
}

/** Builds a row from a duration (lower is better; ratio > 1 means faster than the peer). */
export function timeRow(
  bench: string,
  metric: string,
  unit: string,
  value: number,
  peer: string,
  peerValue: number,
): BenchRow {
  return row(bench, metric, unit, value, peer, peerValue, peerValue / value);
}

/** `--json` and `--quick`, shared by every benchmark entry point. */
export function benchArgs(): { json: boolean; quick: boolean } {
  const { values } = parseArgs({
    options: { json: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false } },
    strict: false,
  });
  return { json: values.json === true, quick: values.quick === true };
}

/** Prints rows as JSON lines or as a table. */
export function printRows(rows: readonly BenchRow[], json: boolean): void {
  if (json) {
    for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const header = ['bench', 'metric', 'value', 'unit', 'peer', 'peer value', 'ratio'];
  const lines = rows.map((r) => [
    r.bench,
    r.metric,
    String(r.value),
    r.unit,
    r.peer,
    String(r.peerValue),
    String(r.ratio),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  process.stdout.write(`${fmt(header)}\n${fmt(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const l of lines) process.stdout.write(`${fmt(l)}\n`);
}
