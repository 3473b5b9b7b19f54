import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { initialParameters } from './init.ts';
import { partitionPlan } from './partition.ts';
import type { VariableInfo } from '../variables.ts';

const VARS: VariableInfo[] = [
  { name: 'd0/kernel', shape: [300, 200], initializer: 'heNormal', fanIn: 300, fanOut: 200, trainable: true },
  { name: 'd0/bias', shape: [200], initializer: 'zeros', fanIn: 300, fanOut: 200, trainable: true },
  { name: 'bn/gamma', shape: [200], initializer: 'ones', fanIn: 200, fanOut: 200, trainable: true },
  {
    name: 'd1/kernel',
    shape: [200, 100],
    initializer: 'glorotUniform',
    fanIn: 200,
    fanOut: 100,
    trainable: true,
  },
];

function std(a: Float32Array): { mean: number; std: number } {
  let s = 0;
  for (const x of a) s += x;
  const mean = s / a.length;
  let q = 0;
  for (const x of a) q += (x - mean) ** 2;
  return { mean, std: Math.sqrt(q / a.length) };
}

void test('kernels are never all zeros, units differ, constants are constant', () => {
  const p = initialParameters(VARS, 7);
  for (const name of ['d0/kernel', 'd1/kernel']) {
    const k = p.get(name) as Float32Array;
    assert.ok(
      k.some((x) => x !== 0),
      `${name} all zeros`,
    );
    const cols = (VARS.find((x) => x.name === name) as VariableInfo).shape[1] as number;
    assert.notEqual(k[0], k[1]);
    assert.notDeepEqual(Array.from(k.subarray(0, cols)), Array.from(k.subarray(cols, 2 * cols)));
  }
  assert.ok((p.get('d0/bias') as Float32Array).every((x) => x === 0));
  assert.ok((p.get('bn/gamma') as Float32Array).every((x) => x === 1));
});

void test('statistics: He std sqrt(2/fanIn) truncated at 2 std; Glorot within the limit with uniform std', () => {
  const p = initialParameters(VARS, 1);
  const he = p.get('d0/kernel') as Float32Array;
  const s = std(he);
  const target = Math.sqrt(2 / 300);
  assert.ok(Math.abs(s.std / target - 1) < 0.03, `he std ${s.std} vs ${target}`);
  assert.ok(Math.abs(s.mean) < 0.003);
  const bound = (2 * target) / 0.87962566103423978;
  assert.ok(he.every((x) => Math.abs(x) <= bound * (1 + 1e-6)));
  const gl = p.get('d1/kernel') as Float32Array;
  const limit = Math.sqrt(6 / 300);
  assert.ok(gl.every((x) => Math.abs(x) <= limit));
  assert.ok(Math.abs(std(gl).std / (limit / Math.sqrt(3)) - 1) < 0.03);
});

void test('same seed same values, other seed other values; identical whatever the shard count', () => {
  const a = initialParameters(VARS, 42);
  assert.deepEqual(initialParameters(VARS, 42), a);
  assert.notDeepEqual(
    (initialParameters(VARS, 43).get('d0/kernel') as Float32Array).subarray(0, 8),
    (a.get('d0/kernel') as Float32Array).subarray(0, 8),
  );
  // Values of a variable do not depend on other variables after it (own stream per variable index).
  assert.deepEqual(initialParameters(VARS.slice(0, 1), 42).get('d0/kernel'), a.get('d0/kernel'));
  for (const shards of [1, 2, 3]) {
    // Shards slice the whole-variable values; re-assemble them as a shard set would and compare.
    const plan = partitionPlan(VARS, shards, 4096);
    const full = initialParameters(VARS, 42);
    for (const part of plan.parts) {
      const whole = full.get(part.variable) as Float32Array;
      assert.deepEqual(
        whole.subarray(part.offset, part.offset + part.length),
        (a.get(part.variable) as Float32Array).subarray(part.offset, part.offset + part.length),
      );
    }
  }
});

void test('identical across processes', () => {
  const here = fileURLToPath(new URL('./init.ts', import.meta.url));
  const script = `import { initialParameters } from ${JSON.stringify(here)};
const p = initialParameters(${JSON.stringify(VARS)}, 42);
const k = p.get('d0/kernel'); let h = 0; for (const x of k) h = (h * 31 + Math.round(x * 1e7)) % 1000000007;
process.stdout.write(String(h));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  const k = initialParameters(VARS, 42).get('d0/kernel') as Float32Array;
  let h = 0;
  for (const x of k) h = (h * 31 + Math.round(x * 1e7)) % 1000000007;
  assert.equal(out, String(h));
});

void test('bad fan-in is a ValidationError', () => {
  assert.throws(() => initialParameters([{ ...(VARS[0] as VariableInfo), fanIn: 0 }], 1), {
    name: 'ValidationError',
  });
});
