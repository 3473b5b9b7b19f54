/**
 * The bench's scale projection and BLAS verdicts: a tiny grid (0.2M parameters, 1 and 2 trainer
 * processes, 1 and 2 real parameter-server shard processes, 30 ms of synthetic compute) produces
 * one step row and one GB/s row per point, with step times no shorter than the synthetic compute;
 * PyTorch ratios are withheld on the reference BLAS or a wrong sgemm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScale, syntheticVariables } from '../../bench/scale.ts';
import { describeBlas } from '../../bench/blas.ts';
import type { BlasInfo } from '../../bench/blas.ts';

void test('scale projection: a tiny grid through real shard processes', async () => {
  const { rows, points } = await runScale({
    quick: true,
    paramsMillions: 0.2,
    computeMs: 30,
    steps: 2,
    trainers: [1, 2],
    shards: [1, 2],
  });
  assert.equal(points.length, 4);
  assert.deepEqual(
    rows.map((r) => r.metric),
    points.flatMap((p) => [
      `step_ms_${p.trainers}t_${p.shards}s_0.2M`,
      `exchange_GBps_${p.trainers}t_${p.shards}s_0.2M`,
    ]),
  );
  for (const p of points) {
    assert.ok(p.stepMs >= 30, `step ${p.stepMs} ms is shorter than the 30 ms of synthetic compute`);
    assert.ok(p.exchangeGBps > 0 && Number.isFinite(p.exchangeGBps), `exchange ${p.exchangeGBps} GB/s`);
  }
  for (const r of rows.filter((x) => x.unit === 'ms')) {
    assert.equal(r.peer, 'synthetic-compute-30ms');
    assert.ok(r.ratio > 0 && r.ratio <= 1, `efficiency ${r.ratio}`);
  }
});

void test('scale projection: the synthetic model has the size asked and bad sizes name the flag', async () => {
  const floats = syntheticVariables(25).reduce((a, v) => a + v.shape.reduce((x, y) => x * y, 1), 0);
  assert.ok(Math.abs(floats - 25e6) / 25e6 < 0.01, `${floats} floats`);
  assert.throws(() => syntheticVariables(0), /--params/);
  await assert.rejects(runScale({ quick: true, trainers: [0] }), /--trainers/);
});

void test('BLAS verdict: PyTorch ratios are withheld without OpenBLAS or with a wrong sgemm', () => {
  const base: BlasInfo = {
    libraries: ['/x/openblas-pthread/libblas.so.3', '/x/openblas-pthread/libopenblasp-r0.3.21.so'],
    openblas: true,
    core: 'Zen',
    sgemm1024GFlops: 30,
    maxAbsError: 1e-4,
    correct: true,
  };
  assert.equal(describeBlas(base).refuse, null);
  assert.match(describeBlas(base).label, /OpenBLAS \(Zen kernel\)/);
  const reference = describeBlas({
    ...base,
    libraries: ['/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0'],
    openblas: false,
    core: null,
  });
  assert.match(reference.refuse ?? '', /reference BLAS/);
  assert.match(describeBlas({ ...base, correct: false, maxAbsError: 3 }).refuse ?? '', /wrong sgemm/);
});
