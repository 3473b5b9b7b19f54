import { ValidationError } from '../../errors.ts';

/** Index of the padding token: always 0, so index 0 means "no token" everywhere. */
export const PAD_INDEX = 0;
/** Index of the out-of-vocabulary token. */
export const UNK_INDEX = 1;
/** The reserved tokens, at their indices. */
export const PAD_TOKEN = '<pad>';
export const UNK_TOKEN = '<unk>';

/** Options of {@link buildVocabulary}. */
export interface VocabularyOptions {
  /** Tokens seen fewer times than this (in the training split) map to `<unk>`. @default 1 */
  minFrequency: number;
  /** Most entries, `<pad>` and `<unk>` included; the most frequent tokens win. 0: no limit. */
  maxSize: number;
}

/** A token list (index = position) and its reverse map. */
export interface Vocabulary {
  /** `tokens[0] = '<pad>'`, `tokens[1] = '<unk>'`, then by descending frequency, ties by code-point order. */
  readonly tokens: readonly string[];
  readonly index: ReadonlyMap<string, number>;
}

/**
 * Builds a vocabulary from tokenized texts, which must be the training split only (the test split
 * never adds tokens: its unseen tokens become `<unk>`, as new text would). Deterministic.
 */
export function buildVocabulary(
  texts: Iterable<readonly string[]>,
  options: VocabularyOptions,
  field = 'dataset.vocabulary',
): Vocabulary {
  if (!Number.isInteger(options.minFrequency) || options.minFrequency < 1)
    throw new ValidationError(
      `${field}.minFrequency`,
      `must be an integer >= 1, got ${options.minFrequency}`,
    );
  if (!Number.isInteger(options.maxSize) || (options.maxSize !== 0 && options.maxSize < 3))
    throw new ValidationError(
      `${field}.maxSize`,
      `must be 0 (no limit) or an integer >= 3 (<pad>, <unk> and one token), got ${options.maxSize}`,
    );
  const counts = new Map<string, number>();
  for (const tokens of texts) for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  counts.delete(PAD_TOKEN);
  counts.delete(UNK_TOKEN);
  const kept = [...counts].filter(([, n]) => n >= options.minFrequency);
  kept.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const limit = options.maxSize === 0 ? kept.length : options.maxSize - 2;
  const tokens = [PAD_TOKEN, UNK_TOKEN, ...kept.slice(0, limit).map(([t]) => t)];
  return vocabularyFromTokens(tokens);
}

/** A vocabulary from its token list (e.g. a `vocab.json`); checks the reserved entries. */
export function vocabularyFromTokens(tokens: readonly string[]): Vocabulary {
  if (tokens[PAD_INDEX] !== PAD_TOKEN || tokens[UNK_INDEX] !== UNK_TOKEN)
    throw new ValidationError('vocabulary', `must start with "${PAD_TOKEN}", "${UNK_TOKEN}"`);
  const index = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (!index.has(t)) index.set(t, i);
  });
  return { tokens: [...tokens], index };
}

/** Where to pad or truncate a sequence. */
export type SequenceSide = 'start' | 'end';

/** Options of {@link encodeSequence}. */
export interface SequenceOptions {
  maxLength: number;
  /** Where `<pad>` goes when the text is shorter. @default 'end' */
  pad: SequenceSide;
  /** Which end is cut when the text is longer. @default 'end' */
  truncate: SequenceSide;
}

/**
 * Writes the indices of `tokens` into `out[at .. at + maxLength)`: unknown tokens as `<unk>`, cut at
 * the configured end, padded with `<pad>` (0) at the configured end. Returns the number of real
 * tokens kept (the sequence's length, at most maxLength).
 */
export function encodeSequence(
  tokens: readonly string[],
  vocab: Vocabulary,
  options: SequenceOptions,
  out: Int32Array,
  at = 0,
): number {
  const { maxLength } = options;
  const n = Math.min(tokens.length, maxLength);
  const from = options.truncate === 'start' ? tokens.length - n : 0;
  const to = options.pad === 'start' ? at + maxLength - n : at;
  out.fill(PAD_INDEX, at, at + maxLength);
  for (let k = 0; k < n; k++) out[to + k] = vocab.index.get(tokens[from + k] as string) ?? UNK_INDEX;
  return n;
}
