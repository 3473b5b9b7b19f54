import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '@distrain/core';
import type { DatasetInfo, TrainingJob } from '@distrain/core';
import { bindTextDataset, withTextColumn } from './text-job.ts';

const textInfo: DatasetInfo = {
  datasetId: 'fortunes-language:x',
  trainCount: 100,
  testCount: 20,
  featureShape: [16],
  featureDtype: 'int32',
  featureScale: 1,
  numClasses: 9,
  classNames: [],
  vocabularySize: 500,
};

function job(layers: unknown[]): TrainingJob {
  return { spec: { dataset: { name: 'fortunes-language' }, model: { layers } } } as unknown as TrainingJob;
}

test('the embedding gets the vocabulary size; a text dataset needs an embedding first', () => {
  const bound = bindTextDataset(
    job([
      { type: 'embedding', outputDim: 8 },
      { type: 'dense', units: 9 },
    ]),
    textInfo,
  );
  assert.deepEqual(bound.spec.model.layers[0], { type: 'embedding', outputDim: 8, inputDim: 500 });
  assert.throws(
    () => bindTextDataset(job([{ type: 'flatten' }, { type: 'dense', units: 9 }]), textInfo),
    (e: Error) => e instanceof ValidationError && e.field === 'spec.model.layers[0].type',
  );
  assert.throws(
    () => bindTextDataset(job([{ type: 'embedding', outputDim: 8, inputDim: 7 }]), textInfo),
    (e: Error) => e instanceof ValidationError && e.field === 'spec.model.layers[0].inputDim',
  );
  assert.throws(
    () =>
      bindTextDataset(job([{ type: 'embedding', outputDim: 8 }]), {
        ...textInfo,
        featureDtype: 'uint8',
        featureShape: [28, 28, 1],
      }),
    (e: Error) => e instanceof ValidationError && e.field === 'spec.model.layers[0].type',
  );
});

test('predictions get the text of each row by its dataset index, quoted', () => {
  const csv = Buffer.from('index,label,predicted,p0,p1\n0,1,1,0.1,0.9\n1,0,0,0.8,0.2\n');
  const out = withTextColumn(csv, ['hello, "world"', 'line\nbreak']).toString();
  assert.equal(
    out,
    'index,label,predicted,p0,p1,text\n0,1,1,0.1,0.9,"hello, ""world"""\n1,0,0,0.8,0.2,"line break"\n',
  );
});
