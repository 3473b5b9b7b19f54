import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkpointFileName,
  doomedCheckpoints,
  latestCheckpoint,
  parseCheckpointName,
  pruneCheckpoints,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoint.ts';

void test('write/read round trip, newest wins, prune keeps the newest, corrupt files are named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'distrain-ckpt-'));
  try {
    assert.equal(await latestCheckpoint(join(dir, 'missing')), undefined);
    const tensors = new Map([
      ['a#0', Float32Array.from([1, 2, 3])],
      ['a#0/m', Float32Array.from([0.5, -0.5, 0])],
      ['empty#0', new Float32Array(0)],
      ['b#1', Float32Array.from([Math.PI])],
    ]);
    for (const epoch of [1, 2, 10]) {
      await writeCheckpoint(dir, {
        jobId: 'j',
        shardIndex: 1,
        shardCount: 2,
        version: epoch * 5,
        epoch,
        epochEnd: true,
        optimizer: 'momentum',
        tensors,
      });
    }
    const latest = await latestCheckpoint(dir);
    assert.ok(latest?.endsWith('v000000000050-epoch000010.ckpt'));
    const back = await readCheckpoint(latest as string);
    assert.equal(back.version, 50);
    assert.equal(back.epoch, 10);
    assert.equal(back.shardIndex, 1);
    assert.equal(back.optimizer, 'momentum');
    assert.deepEqual([...back.tensors.keys()], [...tensors.keys()]);
    for (const [k, val] of tensors) assert.deepEqual(back.tensors.get(k), val);
    assert.ok(!(await readdir(dir)).some((n) => n.includes('.tmp-')), 'no temp files left');
    assert.equal(back.epochEnd, true);
    await pruneCheckpoints(dir, 2, 0);
    assert.deepEqual((await readdir(dir)).sort(), [
      'v000000000010-epoch000002.ckpt',
      'v000000000050-epoch000010.ckpt',
    ]);
    await writeFile(join(dir, 'v000000000055.ckpt'), 'garbage');
    await assert.rejects(readCheckpoint(join(dir, 'v000000000055.ckpt')), {
      name: 'DatasetFileError',
      message: /v000000000055/,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('prune keeps the newest checkpoints and, besides, the newest epoch checkpoints', () => {
  const e = (version: number, epochEnd?: number) => ({ version, epochEnd });
  const all = [e(100, 1), e(150), e(200, 2), e(250), e(300), e(350), e(400, 4 as number)];
  const doomed = doomedCheckpoints(all, 2, 2).map((c) => c.version);
  // Kept: 350, 400 (newest two), 200 and 400 (newest two epoch ends).
  assert.deepEqual(doomed, [100, 150, 250, 300]);
  assert.deepEqual(doomedCheckpoints(all, 10, 0), []);
  assert.equal(parseCheckpointName('v000000000150.ckpt')?.version, 150);
  assert.equal(parseCheckpointName('v000000000200-epoch000002.ckpt')?.epochEnd, 2);
  assert.equal(parseCheckpointName('epoch-000002.ckpt'), undefined);
  assert.equal(checkpointFileName(7, 1), 'v000000000007-epoch000001.ckpt');
});
