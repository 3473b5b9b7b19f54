import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePredictionRows } from './predictions.ts';

async function* chunks(...parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p);
}

async function rows(...parts: string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const r of parsePredictionRows(chunks(...parts))) out.push(r);
  return out;
}

test('prediction rows: numbers only, split across chunks', async () => {
  assert.deepEqual(await rows('index,label,predicted,p0,p1\n0,1,1,0.2,', '0.8\n1,0,0,0.9,0.1\n'), [
    { index: 0, label: 1, predicted: 1, probabilities: [0.2, 0.8] },
    { index: 1, label: 0, predicted: 0, probabilities: [0.9, 0.1] },
  ]);
});

test('prediction rows of a text dataset carry the quoted text column (commas and quotes inside)', async () => {
  assert.deepEqual(
    await rows('index,label,predicted,p0,p1,text\n0,1,0,0.6,0.4,"a, ""b"" c"\n1,0,0,0.7,0.3,""\n'),
    [
      { index: 0, label: 1, predicted: 0, probabilities: [0.6, 0.4], text: 'a, "b" c' },
      { index: 1, label: 0, predicted: 0, probabilities: [0.7, 0.3], text: '' },
    ],
  );
});
