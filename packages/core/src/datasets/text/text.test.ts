import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../../errors.ts';
import { loadDataset } from '../cache.ts';
import { splitFortunes, readFortunesTopic } from './fortunes.ts';
import { loadPretrained, toGloveText } from './pretrained.ts';
import { buildTextDataset } from './text-dataset.ts';
import { tokenize } from './tokenize.ts';
import { buildVocabulary, encodeSequence, PAD_INDEX, UNK_INDEX } from './vocabulary.ts';

const dir = mkdtempSync(join(tmpdir(), 'distrain-text-'));

test('word tokens are Unicode-aware and lower-cased on request; char and segmenter split as documented', () => {
  assert.deepEqual(tokenize('Die Straße, naïve! Привет мир', { tokenizer: 'word', lowercase: true }), [
    'die',
    'straße',
    'naïve',
    'привет',
    'мир',
  ]);
  assert.deepEqual(tokenize('Ab  c', { tokenizer: 'word', lowercase: false }), ['Ab', 'c']);
  assert.deepEqual(tokenize('a  b😀', { tokenizer: 'char', lowercase: false }), ['a', ' ', 'b', '😀']);
  const zh = tokenize('我们喜欢学习中文。', { tokenizer: 'segmenter', lowercase: true });
  assert.ok(zh.length >= 3 && zh.length < 9, `Chinese words, not characters: ${zh.join('|')}`);
  assert.ok(!zh.includes('。'), 'punctuation is not word-like');
});

test('the vocabulary puts <pad> at 0 and <unk> at 1 and honours minFrequency and maxSize', () => {
  const v = buildVocabulary(
    [
      ['a', 'b', 'a'],
      ['c', 'a', 'b'],
    ],
    { minFrequency: 2, maxSize: 0 },
  );
  assert.deepEqual(v.tokens, ['<pad>', '<unk>', 'a', 'b']);
  const w = buildVocabulary(
    [
      ['a', 'b', 'a'],
      ['c', 'a', 'b'],
    ],
    { minFrequency: 1, maxSize: 3 },
  );
  assert.deepEqual(w.tokens, ['<pad>', '<unk>', 'a']);
  assert.throws(() => buildVocabulary([], { minFrequency: 0, maxSize: 0 }), ValidationError);
});

test('padding and truncation follow pad and truncate', () => {
  const v = buildVocabulary([['a', 'b', 'c', 'd']], { minFrequency: 1, maxSize: 0 });
  const ids = (t: string[]) => t.map((x) => v.index.get(x) ?? UNK_INDEX);
  const out = new Int32Array(4);
  const run = (tokens: string[], pad: 'start' | 'end', truncate: 'start' | 'end'): number[] => {
    const n = encodeSequence(tokens, v, { maxLength: 4, pad, truncate }, out);
    assert.equal(n, Math.min(4, tokens.length));
    return [...out];
  };
  assert.deepEqual(run(['a', 'b'], 'end', 'end'), [...ids(['a', 'b']), PAD_INDEX, PAD_INDEX]);
  assert.deepEqual(run(['a', 'b'], 'start', 'end'), [PAD_INDEX, PAD_INDEX, ...ids(['a', 'b'])]);
  assert.deepEqual(run(['a', 'b', 'c', 'd', 'zz', 'b'], 'end', 'end'), ids(['a', 'b', 'c', 'd']));
  assert.deepEqual(run(['a', 'b', 'c', 'd', 'zz', 'b'], 'end', 'start'), [
    ...ids(['c', 'd']),
    UNK_INDEX,
    ...ids(['b']),
  ]);
});

test('the vocabulary comes from the training split only; the split is stratified and fixed', () => {
  const entries = [];
  for (let i = 0; i < 50; i++) entries.push({ text: `alpha common word${i}`, label: 'a' });
  for (let i = 0; i < 50; i++) entries.push({ text: `beta common other${i}`, label: 'b' });
  const options = {
    tokenizer: 'word' as const,
    lowercase: true,
    maxLength: 5,
    pad: 'end' as const,
    truncate: 'end' as const,
    minFrequency: 1,
    maxVocabulary: 0,
    maxPerClass: 0,
    testFraction: 0.2,
    splitSeed: 7,
  };
  const ds = buildTextDataset('t', { entries, dropped: {}, files: 1, legacyEncodedFiles: 0 }, options);
  assert.equal(ds.test.count, 20);
  assert.deepEqual(ds.text?.stats.classCounts, {
    a: { available: 50, train: 40, test: 10 },
    b: { available: 50, train: 40, test: 10 },
  });
  const vocab = new Set(ds.text?.vocabulary);
  for (const t of ds.test.texts ?? []) {
    const unique = t.split(' ')[2] as string;
    assert.ok(!vocab.has(unique), `test-only token ${unique} is in the vocabulary`);
  }
  for (const t of ds.train.texts ?? []) assert.ok(vocab.has(t.split(' ')[2] as string));
  // Test tokens unseen in training are <unk> (index 1) on the way out.
  assert.equal(ds.test.features[2], UNK_INDEX);
  assert.ok(ds.test.features instanceof Int32Array);
  assert.deepEqual([...(ds.test.lengths ?? [])].slice(0, 2), [3, 3]);
  const again = buildTextDataset('t', { entries, dropped: {}, files: 1, legacyEncodedFiles: 0 }, options);
  assert.deepEqual(again.test.texts, ds.test.texts, 'same seed, same split');
});

test('fortunes entries split at % lines; fortunes-topic reads the Debian files and counts drops', () => {
  assert.deepEqual(splitFortunes('one\n%\ntwo\nlines\n%\n'), ['one\n', 'two\nlines\n', '']);
  const c = readFortunesTopic();
  assert.ok(c.entries.length > 2500, `${c.entries.length} entries`);
  assert.equal(c.files, 8);
  assert.ok((c.dropped['empty'] ?? 0) > 0, JSON.stringify(c.dropped));
});

test('a tsv text dataset loads with named fields; a missing column is named', async () => {
  const file = join(dir, 'reviews.tsv');
  const rows = ['label\ttext'];
  for (let i = 0; i < 20; i++)
    rows.push(`${i % 2 === 0 ? 'pos' : 'neg'}\t${i % 2 === 0 ? 'good' : 'bad'} film ${i}`);
  rows.push('pos\t');
  writeFileSync(file, `${rows.join('\n')}\n`);
  const ds = await loadDataset({ name: 'text', path: file, maxLength: 3 });
  assert.deepEqual(ds.classNames, ['neg', 'pos']);
  assert.equal(ds.train.count + ds.test.count, 20);
  assert.equal(ds.text?.stats.dropped['missing-text'], 1);
  assert.deepEqual(ds.featureShape, [3]);
  await assert.rejects(
    loadDataset({ name: 'text', path: file, textField: 'body' }),
    (e: Error) => e instanceof ValidationError && /dataset\.textField/.test(e.message),
  );
});

test('the pretrained loader maps known tokens, keeps the rest, zeroes <pad>, and rejects a dimension mismatch', () => {
  const vocab = ['<pad>', '<unk>', 'cat', 'dog', 'new york'];
  const glove = join(dir, 'v.txt');
  writeFileSync(glove, 'cat 1 2 3\nfish 4 5 6\nnew▁york 7 8 9\n');
  const m = new Float32Array(15).fill(0.5);
  const r = loadPretrained(glove, 'glove', vocab, 3, m);
  assert.deepEqual(r, { matched: 2, unmatched: 2, vectors: 3 });
  assert.deepEqual([...m], [0, 0, 0, 0.5, 0.5, 0.5, 1, 2, 3, 0.5, 0.5, 0.5, 7, 8, 9]);
  assert.throws(
    () => loadPretrained(glove, 'glove', vocab, 4, new Float32Array(20)),
    (e: Error) => e instanceof ValidationError && /3-dimensional.*outputDim is 4/.test(e.message),
  );
  const w2v = join(dir, 'w.txt');
  writeFileSync(w2v, '1 5\ncat 1 2 3 4 5\n');
  assert.throws(() => loadPretrained(w2v, 'word2vec-text', vocab, 3, new Float32Array(15)), /outputDim to 5/);
  // Export and import agree (GloVe text round trip).
  const back = join(dir, 'back.txt');
  writeFileSync(back, toGloveText(vocab, m, 3));
  const m2 = new Float32Array(15);
  loadPretrained(back, 'glove', vocab, 3, m2);
  assert.deepEqual([...m2], [...m]);
});
