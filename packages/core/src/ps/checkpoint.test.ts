import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latestCheckpoint, pruneCheckpoints, readCheckpoint, writeCheckpoint } from './checkpoint.ts';

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
        optimizer: 'momentum',
        tensors,
      });
    }
    const latest = await latestCheckpoint(dir);
    assert.ok(latest?.endsWith('epoch-000010.ckpt'));
    const back = await readCheckpoint(latest as string);
    assert.equal(back.version, 50);
    assert.equal(back.epoch, 10);
    assert.equal(back.shardIndex, 1);
    assert.equal(back.optimizer, 'momentum');
    assert.deepEqual([...back.tensors.keys()], [...tensors.keys()]);
    for (const [k, val] of tensors) assert.deepEqual(back.tensors.get(k), val);
    assert.ok(!(await readdir(dir)).some((n) => n.includes('.tmp-')), 'no temp files left');
    await pruneCheckpoints(dir, 2);
    assert.deepEqual((await readdir(dir)).sort(), ['epoch-000002.ckpt', 'epoch-000010.ckpt']);
    await writeFile(join(dir, 'epoch-000011.ckpt'), 'garbage');
    await assert.rejects(readCheckpoint(join(dir, 'epoch-000011.ckpt')), {
      name: 'DatasetFileError',
      message: /epoch-000011/,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
