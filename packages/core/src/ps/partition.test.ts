import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionPlan } from './partition.ts';
import type { VariableInfo } from '../variables.ts';

const v = (name: string, shape: number[], trainable = true): VariableInfo => ({
  name,
  shape,
  initializer: 'glorotUniform',
  fanIn: shape[0] ?? 1,
  fanOut: shape[1] ?? 1,
  trainable,
});
const VARS = [
  v('a/kernel', [784, 512]),
  v('a/bias', [512]),
  v('b/kernel', [512, 1000]),
  v('bn/mean', [10], false),
  v('c/kernel', [3, 3]),
];

void test('every element is covered exactly once and parts respect the byte limit', () => {
  for (const shards of [1, 2, 3, 5]) {
    for (const maxBytes of [64, 4096, 1 << 20, 4 << 20]) {
      const plan = partitionPlan(VARS, shards, maxBytes);
      VARS.forEach((variable, vi) => {
        const n = variable.shape.reduce((a, b) => a * b, 1);
        const hits = new Uint8Array(n);
        for (const p of plan.byVariable[vi] ?? []) {
          assert.ok(p.length * 4 <= maxBytes, `${p.key} too big`);
          assert.equal(p.key, `${variable.name}#${p.partIndex}`);
          for (let i = p.offset; i < p.offset + p.length; i++) hits[i] = (hits[i] ?? 0) + 1;
        }
        assert.ok(
          hits.every((h) => h === 1),
          `${variable.name} coverage with ${shards} shards, ${maxBytes} B`,
        );
      });
      const total = plan.byShard.reduce((a, parts) => a + parts.length, 0);
      assert.equal(total, plan.parts.length);
    }
  }
});

void test('shards are balanced and the plan is deterministic', () => {
  const plan = partitionPlan(VARS, 3, 64 * 1024);
  const again = partitionPlan(
    VARS.map((x) => ({ ...x })),
    3,
    64 * 1024,
  );
  assert.deepEqual(
    plan.parts.map((p) => [p.key, p.shard, p.offset, p.length]),
    again.parts.map((p) => [p.key, p.shard, p.offset, p.length]),
  );
  const max = Math.max(...plan.shardBytes);
  const min = Math.min(...plan.shardBytes);
  assert.ok(max - min <= 64 * 1024, `imbalance ${max - min}`);
  assert.equal(
    plan.shardBytes.reduce((a, b) => a + b, 0),
    plan.parts.reduce((a, p) => a + p.length * 4, 0),
  );
});

void test('default 4 MiB parts; more shards than parts leaves shards empty; bad input rejected', () => {
  const plan = partitionPlan([v('big', [2048, 1024])], 4); // 8 MiB -> two 4 MiB parts
  assert.equal(plan.parts.length, 2);
  assert.deepEqual(
    plan.byShard.map((p) => p.length),
    [1, 1, 0, 0],
  );
  assert.throws(() => partitionPlan(VARS, 0), { name: 'ValidationError' });
  assert.throws(() => partitionPlan(VARS, 1, 6), { name: 'ValidationError' });
  assert.throws(() => partitionPlan([v('x', [1]), v('x', [2])], 1), /duplicate/);
});
