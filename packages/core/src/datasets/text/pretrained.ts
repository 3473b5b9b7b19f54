import { readDataTextSync } from '../file-io.ts';
import { DatasetFileError, DistrainError, NotFoundError, ValidationError } from '../../errors.ts';
import { PAD_INDEX } from './vocabulary.ts';

/** Formats of pretrained word vectors. */
export const PRETRAINED_FORMATS = ['glove', 'word2vec-text'] as const;
/** A pretrained vectors format. */
export type PretrainedFormat = (typeof PRETRAINED_FORMATS)[number];

/**
 * How a token is written in a vectors file: whitespace would split the line, so every whitespace
 * code point becomes U+2581 (`▁`, as SentencePiece writes spaces). Export and import agree on it.
 */
export function vectorFileToken(token: string): string {
  return token.replace(/\s/gu, '\u2581');
}

/** What {@link loadPretrained} did, for the job's log. */
export interface PretrainedReport {
  /** Vocabulary entries (besides `<pad>`) that took a vector from the file. */
  matched: number;
  /** Vocabulary entries left with their initial values. */
  unmatched: number;
  /** Lines of the file read (vectors). */
  vectors: number;
}

/**
 * Fills `matrix` (`[vocabulary.length, dim]`, already holding the seeded initial values) with the
 * vectors of a GloVe text file (`token v1 .. vdim` per line) or a word2vec text file (the same after
 * a `count dim` header line): known tokens take their vector, unknown ones keep their initial
 * values, and the `<pad>` row is set to zero. A vector whose length is not `dim` is a
 * {@link ValidationError} naming `field` (a dimension mismatch), never a silent truncation.
 */
export function loadPretrained(
  path: string,
  format: PretrainedFormat,
  vocabulary: readonly string[],
  dim: number,
  matrix: Float32Array,
  field = 'pretrained',
): PretrainedReport {
  if (matrix.length !== vocabulary.length * dim)
    throw new Error(`loadPretrained: matrix has ${matrix.length} values, want ${vocabulary.length}x${dim}`);
  let text: string;
  try {
    text = readDataTextSync(path, `${field}.path`);
  } catch (err) {
    if (err instanceof DistrainError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFoundError(`${field}.path: ${path} does not exist`, { field: `${field}.path` });
    throw new DatasetFileError(`${path}: ${(err as Error).message}`, { file: path, cause: err });
  }
  const rows = new Map<string, number>();
  vocabulary.forEach((t, i) => {
    const key = vectorFileToken(t);
    if (i !== PAD_INDEX && !rows.has(key)) rows.set(key, i);
  });
  const lines = text.split('\n');
  let start = 0;
  if (format === 'word2vec-text') {
    const head = (lines[0] ?? '').trim().split(/\s+/);
    const headerDim = Number(head[1]);
    if (head.length !== 2 || !Number.isInteger(headerDim))
      throw new DatasetFileError(
        `${path}: a word2vec text file starts with "count dim", got "${lines[0] ?? ''}"`,
        {
          file: path,
        },
      );
    if (headerDim !== dim)
      throw new ValidationError(
        `${field}.path`,
        `${path} has ${headerDim}-dimensional vectors but the embedding's outputDim is ${dim}; set outputDim to ${headerDim}`,
      );
    start = 1;
  }
  const done = new Set<number>();
  let vectors = 0;
  for (let n = start; n < lines.length; n++) {
    const line = (lines[n] as string).trimEnd();
    if (line === '') continue;
    const parts = line.split(' ');
    const values = parts.length - 1;
    if (values !== dim)
      throw new ValidationError(
        `${field}.path`,
        `${path} line ${n + 1} has a ${values}-dimensional vector but the embedding's outputDim is ${dim}; set outputDim to ${values}`,
      );
    vectors++;
    const row = rows.get(parts[0] as string);
    if (row === undefined || done.has(row)) continue;
    for (let k = 0; k < dim; k++) {
      const v = Number(parts[k + 1]);
      if (!Number.isFinite(v))
        throw new DatasetFileError(`${path} line ${n + 1}: "${parts[k + 1]}" is not a number`, {
          file: path,
        });
      matrix[row * dim + k] = v;
    }
    done.add(row);
  }
  matrix.fill(0, PAD_INDEX * dim, PAD_INDEX * dim + dim);
  return { matched: done.size, unmatched: vocabulary.length - 1 - done.size, vectors };
}

/** Writes an embedding matrix as GloVe text (`token v1 .. vdim` per row, `<pad>` included). */
export function toGloveText(vocabulary: readonly string[], matrix: Float32Array, dim: number): string {
  const out: string[] = [];
  vocabulary.forEach((t, i) => {
    const row = Array.from(matrix.subarray(i * dim, (i + 1) * dim), (v) => String(v));
    out.push(`${vectorFileToken(t)} ${row.join(' ')}`);
  });
  return `${out.join('\n')}\n`;
}
