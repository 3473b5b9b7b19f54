import { DatasetFileError, ValidationError } from '../../errors.ts';
import { Rng } from '../../rng.ts';
import type { Dataset, SplitData, TextDatasetInfo } from '../types.ts';
import { drop } from './corpus.ts';
import type { TextCorpus } from './corpus.ts';
import { tokenize } from './tokenize.ts';
import type { TokenizerName } from './tokenize.ts';
import { buildVocabulary, encodeSequence, UNK_INDEX } from './vocabulary.ts';
import type { SequenceSide } from './vocabulary.ts';

/** How a corpus becomes index sequences (all validated and defaulted by the dataset spec). */
export interface TextPipelineOptions {
  tokenizer: TokenizerName;
  lowercase: boolean;
  maxLength: number;
  pad: SequenceSide;
  truncate: SequenceSide;
  minFrequency: number;
  /** Vocabulary size limit, `<pad>` and `<unk>` included; 0: none. */
  maxVocabulary: number;
  /** At most this many entries per class (a seeded sample); 0: all. */
  maxPerClass: number;
  testFraction: number;
  /** Seed of the per-class sample and the split: fixed per dataset, never the job's seed. */
  splitSeed: number;
}

/** A stable 32-bit seed from a string (FNV-1a), e.g. the dataset's name. */
export function stringSeed(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function shuffle(a: number[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
}

/**
 * Turns a corpus into a {@link Dataset} of int32 index sequences, once:
 * 1. per class (classes sorted by name), a seeded sample of at most `maxPerClass` entries
 *    (`over-maxPerClass` counts the rest), tokenized; entries without any token are dropped
 *    (`no-tokens`);
 * 2. a seeded stratified split: `round(n * testFraction)`
 *    of every class (at least one when the class has two or more) go to the test split;
 * 3. both splits keep corpus order (the test split is "dataset order" for predictions);
 * 4. the vocabulary is built from the training split only;
 * 5. every text is indexed, truncated and padded to `maxLength`.
 */
export function buildTextDataset(id: string, corpus: TextCorpus, o: TextPipelineOptions): Dataset {
  const dropped = { ...corpus.dropped };
  const classNames = [...new Set(corpus.entries.map((e) => e.label))].sort();
  if (classNames.length < 2)
    throw new DatasetFileError(`${id}: needs at least 2 classes, found ${classNames.length}`, {});
  const classOf = new Map(classNames.map((c, k) => [c, k]));
  const byClass: number[][] = classNames.map(() => []);
  corpus.entries.forEach((e, i) => byClass[classOf.get(e.label) as number]?.push(i));
  const rng = new Rng(o.splitSeed, 0);
  const trainIdx: number[] = [];
  const testIdx: number[] = [];
  const tokens: string[][] = [];
  const counts = classNames.map(() => ({ available: 0, train: 0, test: 0 }));
  byClass.forEach((all, k) => {
    const c = counts[k] as { available: number; train: number; test: number };
    c.available = all.length;
    // Sample first, then tokenize only what is kept (the big corpora have ~100k entries).
    shuffle(all, rng);
    if (o.maxPerClass > 0 && all.length > o.maxPerClass) {
      drop(dropped, 'over-maxPerClass', all.length - o.maxPerClass);
      all.length = o.maxPerClass;
    }
    const members: number[] = [];
    for (const i of all) {
      const t = tokenize((corpus.entries[i] as { text: string }).text, o);
      if (t.length === 0) drop(dropped, 'no-tokens');
      else {
        tokens[i] = t;
        members.push(i);
      }
    }
    let nTest = Math.round(members.length * o.testFraction);
    if (nTest === 0 && members.length >= 2) nTest = 1;
    if (nTest === members.length) nTest = members.length - 1;
    testIdx.push(...members.slice(0, nTest));
    trainIdx.push(...members.slice(nTest));
    c.test = Math.max(0, nTest);
    c.train = members.length - c.test;
  });
  trainIdx.sort((a, b) => a - b);
  testIdx.sort((a, b) => a - b);
  const vocab = buildVocabulary(
    trainIdx.map((i) => tokens[i] as string[]),
    { minFrequency: o.minFrequency, maxSize: o.maxVocabulary },
  );
  if (vocab.tokens.length <= 2)
    throw new ValidationError(
      'dataset.vocabulary.minFrequency',
      `leaves no token in the vocabulary (${id}); lower minFrequency`,
    );
  let truncated = 0;
  let unknown = 0;
  let testTokens = 0;
  const encode = (idx: number[], isTest: boolean): SplitData & { lengths: Int32Array; texts: string[] } => {
    const features = new Int32Array(idx.length * o.maxLength);
    const lengths = new Int32Array(idx.length);
    const labels = new Int32Array(idx.length);
    const texts: string[] = [];
    idx.forEach((i, row) => {
      const e = corpus.entries[i] as { text: string; label: string };
      const t = tokens[i] as string[];
      lengths[row] = encodeSequence(t, vocab, o, features, row * o.maxLength);
      if (t.length > o.maxLength) truncated++;
      if (isTest) {
        for (let k = 0; k < (lengths[row] as number); k++) {
          const v =
            features[
              row * o.maxLength + (o.pad === 'start' ? o.maxLength - (lengths[row] as number) : 0) + k
            ];
          if (v === UNK_INDEX) unknown++;
        }
        testTokens += lengths[row] as number;
      }
      labels[row] = classOf.get(e.label) as number;
      texts.push(e.text);
    });
    return { count: idx.length, features, labels, lengths, texts };
  };
  const train = encode(trainIdx, false);
  const test = encode(testIdx, true);
  const text: TextDatasetInfo = {
    vocabulary: vocab.tokens,
    stats: {
      files: corpus.files,
      legacyEncodedFiles: corpus.legacyEncodedFiles,
      dropped,
      classCounts: Object.fromEntries(
        classNames.map((c, k) => [c, counts[k] as { train: number; test: number; available: number }]),
      ),
      truncated,
      testUnknownRate: testTokens === 0 ? 0 : unknown / testTokens,
      meanLength:
        (train.lengths.reduce((a, b) => a + b, 0) + test.lengths.reduce((a, b) => a + b, 0)) /
        Math.max(1, train.count + test.count),
    },
  };
  return {
    id,
    featureShape: [o.maxLength],
    featureDtype: 'int32',
    featureScale: 1,
    numClasses: classNames.length,
    classNames,
    labelDtype: 'int32',
    train,
    test,
    text,
  };
}
