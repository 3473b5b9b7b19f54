import { readDataTextSync } from '../file-io.ts';
import { extname } from 'node:path';
import { DatasetFileError, DistrainError, NotFoundError, ValidationError } from '../../errors.ts';
import { splitCsvLine } from '../csv.ts';
import { drop, filterEntries } from './corpus.ts';
import type { TextCorpus, TextEntry } from './corpus.ts';

/** File formats of the `text` dataset. */
export const TEXT_FORMATS = ['tsv', 'csv', 'jsonl'] as const;
/** A text file format. */
export type TextFormat = (typeof TEXT_FORMATS)[number];

/** The format of a file from its extension (`.tsv`, `.csv`, `.jsonl`/`.ndjson`), or undefined. */
export function formatFromPath(path: string): TextFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  return undefined;
}

/** Filter of user text files: keep everything that has text (no length or letter limits). */
const USER_FILTER = { maxChars: Number.MAX_SAFE_INTEGER, minLetterFraction: 0 } as const;

function fieldIndex(header: string[], name: string, field: string, file: string): number {
  const i = header.indexOf(name);
  if (i < 0)
    throw new ValidationError(
      field,
      `"${name}" is not a column of ${file}; its header has ${header.map((h) => `"${h}"`).join(', ')}`,
    );
  return i;
}

/**
 * Reads a labelled text file: `tsv` and `csv` with a header row naming `textField` and
 * `labelField` (csv with RFC 4180 quoting on one line), or `jsonl` with one object per line. Rows
 * without text or label are dropped and counted (`missing-text`, `missing-label`, `bad-line`).
 */
export function readTextFile(
  path: string,
  format: TextFormat,
  textField: string,
  labelField: string,
): TextCorpus {
  let content: string;
  try {
    content = readDataTextSync(path);
  } catch (err) {
    if (err instanceof DistrainError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new NotFoundError(`dataset.path: ${path} does not exist`, { field: 'dataset.path' });
    throw new DatasetFileError(`${path}: ${(err as Error).message}`, { file: path, cause: err });
  }
  const lines = content.replace(/^\uFEFF/, '').split(/\r?\n/);
  const raw: TextEntry[] = [];
  const dropped: Record<string, number> = {};
  if (format === 'jsonl') {
    lines.forEach((line) => {
      if (line.trim() === '') return;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        drop(dropped, 'bad-line');
        return;
      }
      const o = (obj ?? {}) as Record<string, unknown>;
      const text = o[textField];
      const label = o[labelField];
      if (typeof text !== 'string' || text.trim() === '') drop(dropped, 'missing-text');
      else if (label === undefined || label === null || String(label) === '') drop(dropped, 'missing-label');
      else raw.push({ text, label: String(label) });
    });
  } else {
    const split = format === 'tsv' ? (l: string) => l.split('\t') : splitCsvLine;
    const first = lines.findIndex((l) => l.trim() !== '');
    if (first < 0) throw new DatasetFileError(`${path} is empty`, { file: path });
    const header = split(lines[first] as string).map((h) => h.trim());
    const ti = fieldIndex(header, textField, 'dataset.textField', path);
    const li = fieldIndex(header, labelField, 'dataset.labelField', path);
    for (let n = first + 1; n < lines.length; n++) {
      const line = lines[n] as string;
      if (line.trim() === '') continue;
      const f = split(line);
      const text = f[ti];
      const label = f[li]?.trim();
      if (text === undefined || text.trim() === '') drop(dropped, 'missing-text');
      else if (label === undefined || label === '') drop(dropped, 'missing-label');
      else raw.push({ text, label });
    }
  }
  const entries = filterEntries(raw, USER_FILTER, dropped);
  if (entries.length === 0)
    throw new DatasetFileError(`${path} has no usable rows (dropped: ${JSON.stringify(dropped)})`, {
      file: path,
    });
  return { entries, dropped, files: 1, legacyEncodedFiles: 0 };
}
