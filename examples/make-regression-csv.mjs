#!/usr/bin/env node
// Writes the synthetic regression CSV that examples/csv-regression.yaml trains on (deterministic):
//   y = 2 x1 - x2 + 0.5 x3 x4 + 0.05 noise, x ~ U(-1, 1); 1000 rows, header x1,x2,x3,x4,y.
// Usage: node examples/make-regression-csv.mjs [OUT] (default examples/data/regression.csv)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const out = process.argv[2] ?? 'examples/data/regression.csv';
let s = 12345;
const rand = () => {
  // mulberry32
  s = (s + 0x6d2b79f5) | 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const rows = ['x1,x2,x3,x4,y'];
for (let i = 0; i < 1000; i++) {
  const x = [0, 0, 0, 0].map(() => rand() * 2 - 1);
  const [x1, x2, x3, x4] = x;
  const y = 2 * x1 - x2 + 0.5 * x3 * x4 + 0.05 * (rand() * 2 - 1);
  rows.push([...x, y].map((v) => v.toFixed(5)).join(','));
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${rows.join('\n')}\n`);
process.stdout.write(`wrote ${out} (1000 rows)\n`);
