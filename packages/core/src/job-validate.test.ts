import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateJob, parseJobText } from './job-validate.ts';
import { ValidationError } from './errors.ts';

const base = () => ({
  apiVersion: 'distrain.io/v1',
  kind: 'TrainingJob',
  metadata: { name: 'mlp' },
  spec: {
    dataset: { name: 'fashion-mnist' },
    model: { layers: [{ type: 'flatten' }, { type: 'dense', units: 10 }] },
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'adam', learningRate: 0.001 },
    batchSize: 128,
    epochs: 1,
  },
});

function fieldOf(fn: () => unknown): { field: string | undefined; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    return { field: err.field, message: err.message };
  }
  assert.fail('expected a ValidationError');
}

test('defaults are applied and the result is frozen', () => {
  const job = validateJob(base());
  assert.equal(job.spec.seed, 42);
  assert.equal(job.spec.trainers.replicas, 1);
  assert.equal(job.spec.trainers.backend, 'auto');
  assert.equal(job.spec.parameterServer.shards, 1);
  assert.equal(job.spec.fault.onTrainerFailure, 'evict');
  assert.ok(Object.isFrozen(job.spec.model.layers));
});

test('overrides win over the document', () => {
  const job = validateJob(base(), { trainers: 3, epochs: 7, backend: 'cpu', seed: 9 });
  assert.equal(job.spec.trainers.replicas, 3);
  assert.equal(job.spec.epochs, 7);
  assert.equal(job.spec.trainers.backend, 'cpu');
  assert.equal(job.spec.seed, 9);
});

test('a learning rate <= 0 names the field', () => {
  const doc = base();
  doc.spec.optimizer.learningRate = 0;
  const e = fieldOf(() => validateJob(doc));
  assert.equal(e.field, 'spec.optimizer.learningRate');
  assert.match(e.message, /must be > 0; got 0$/);
});

test('an unknown layer type names the layer and lists the valid ones', () => {
  const doc = base();
  (doc.spec.model.layers as unknown[])[1] = { type: 'dens', units: 10 };
  const e = fieldOf(() => validateJob(doc));
  assert.equal(e.field, 'spec.model.layers[1].type');
  assert.match(e.message, /unknown layer type "dens"; use one of dense/);
});

test('a missing field and an unknown field are named', () => {
  const doc = base() as { spec: Record<string, unknown> };
  delete doc.spec['epochs'];
  assert.equal(fieldOf(() => validateJob(doc)).field, 'spec.epochs');
  const doc2 = base() as { spec: Record<string, unknown> };
  doc2.spec['epoch'] = 3;
  assert.match(fieldOf(() => validateJob(doc2)).message, /unknown field 'epoch'/);
});

test('dense units must be positive integers', () => {
  const doc = base();
  (doc.spec.model.layers as unknown[])[1] = { type: 'dense', units: 0 };
  assert.equal(fieldOf(() => validateJob(doc)).field, 'spec.model.layers[1].units');
});

test('YAML and JSON both parse; bad syntax is a ValidationError', () => {
  assert.deepEqual(parseJobText('a: 1\nb: [1, 2]'), { a: 1, b: [1, 2] });
  assert.deepEqual(parseJobText('{"a": 1}'), { a: 1 });
  assert.throws(() => parseJobText('a: [1, 2'), ValidationError);
});

test('mnist sampleCount: schema and dataset code agree on both ends of 20..10000', async () => {
  const { resolveDatasetSpec } = await import('./datasets/spec.ts');
  const withCount = (n: number) => {
    const d = base();
    return { ...d, spec: { ...d.spec, dataset: { name: 'mnist', sampleCount: n } } };
  };
  for (const ok of [20, 10_000]) {
    assert.equal(validateJob(withCount(ok)).spec.dataset.sampleCount, ok);
    assert.equal(resolveDatasetSpec({ name: 'mnist', sampleCount: ok }).sampleCount, ok);
  }
  for (const bad of [19, 10_001]) {
    assert.throws(
      () => validateJob(withCount(bad)),
      // The message shows the value given (a range error read `got undefined` once).
      (e: unknown) =>
        e instanceof ValidationError && /sampleCount/.test(e.message) && e.message.endsWith(`got ${bad}`),
    );
    assert.throws(
      () => resolveDatasetSpec({ name: 'mnist', sampleCount: bad }),
      (e: unknown) => e instanceof ValidationError && e.field === 'dataset.sample_count',
    );
  }
});

test('the shipped text examples validate; text fields and sequence layers are checked by the schema', async () => {
  const { readFileSync } = await import('node:fs');
  for (const name of ['fortunes-language-lstm.yaml', 'fortunes-language-bag.yaml']) {
    const job = validateJob(
      parseJobText(readFileSync(new URL(`../../../examples/${name}`, import.meta.url), 'utf8')),
    );
    assert.equal(job.spec.dataset.name, 'fortunes-language');
    assert.equal(job.spec.model.layers[0]?.type, 'embedding');
  }
  const text = base();
  (text.spec as Record<string, unknown>)['dataset'] = { name: 'fortunes-topic', tokenizer: 'bpe' };
  assert.match(fieldOf(() => validateJob(text)).field ?? '', /dataset\.tokenizer|dataset/);
  const lstm = base();
  lstm.spec.model.layers = [{ type: 'lstm', units: 0 } as unknown as { type: 'flatten' }];
  assert.match(fieldOf(() => validateJob(lstm)).field ?? '', /spec\.model\.layers\[0\]/);
});

test('batch norm with several trainers refuses accumulateSteps > 1, naming the field', () => {
  const doc = base();
  const spec = doc.spec as Record<string, unknown>;
  spec['model'] = {
    layers: [
      { type: 'flatten' },
      { type: 'dense', units: 16 },
      { type: 'batchNormalization' },
      { type: 'dense', units: 10 },
    ],
  };
  spec['trainers'] = { replicas: 2, accumulateSteps: 4 };
  const { field, message } = fieldOf(() => validateJob(doc));
  assert.equal(field, 'spec.trainers.accumulateSteps');
  assert.match(message, /must be 1 .*batchNormalization.*2 trainers/);
  // One trainer, or one micro-batch, is fine.
  assert.equal(validateJob(doc, { trainers: 1 }).spec.trainers.accumulateSteps, 4);
  spec['trainers'] = { replicas: 3, accumulateSteps: 1 };
  assert.equal(validateJob(doc).spec.trainers.replicas, 3);
});
