/** Shared pieces of the benchmarks: the result row, medians, argument parsing, output. */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { mallocEnv } from '@distrain/core';

/**
 * Makes a bench script run with the malloc settings distrain's services start with
 * (`MALLOC_TUNABLES`, role-entry.ts): a process without GLIBC_TUNABLES runs the same script again
 * with them (glibc reads them only at start-up) and exits with its status; otherwise returns. The
 * peers that run inside the bench process (the in-process tfjs loop, bare grpc-js, raw TCP) then
 * use the same allocator as the services they are compared to. Call first in a script's main.
 */
export function withServiceMallocSettings(): void {
  const add = mallocEnv(process.env);
  if (Object.keys(add).length === 0) return;
  const res = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, ...add },
  });
  process.exit(res.status ?? 1);
}

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
