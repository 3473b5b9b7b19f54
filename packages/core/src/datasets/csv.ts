import { DatasetFileError, ValidationError } from '../errors.ts';
import { Rng, permutation } from '../rng.ts';
import { readDataFile } from './file-io.ts';
import type { Dataset, SplitData } from './types.ts';

/** One parsed CSV file: header (or null), rows of raw fields, and each row's 1-based line number. */
interface CsvTable {
  file: string;
  header: string[] | null;
  rows: string[][];
  lines: number[];
}

/** Splits one CSV line into fields (RFC 4180 quoting, no newlines inside quotes). */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) {
          value += line.slice(i);
          i = line.length;
          break;
        }
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      const comma = line.indexOf(',', i);
      fields.push(value + (comma < 0 ? line.slice(i) : line.slice(i, comma)).trim());
      if (comma < 0) return fields;
      i = comma + 1;
    } else {
      const comma = line.indexOf(',', i);
      fields.push((comma < 0 ? line.slice(i) : line.slice(i, comma)).trim());
      if (comma < 0) return fields;
      i = comma + 1;
    }
  }
}

function isNumber(s: string): boolean {
  return s !== '' && Number.isFinite(Number(s));
}

/** Parses CSV text. The first line is a header when any of its fields is not a number. Blank lines are skipped. */
export function parseCsvText(text: string, file: string): CsvTable {
  const all = text.split(/\r?\n/);
  const rows: string[][] = [];
  const lines: number[] = [];
  let header: string[] | null = null;
  let width = -1;
  for (let n = 0; n < all.length; n++) {
    const line = all[n] as string;
    if (line.trim() === '') continue;
    const fields = splitCsvLine(n === 0 ? line.replace(/^\uFEFF/, '') : line);
    if (width < 0) {
      width = fields.length;
      if (fields.some((f) => !isNumber(f))) {
        header = fields;
        continue;
      }
    } else if (fields.length !== width) {
      throw new DatasetFileError(
        `${file}: line ${n + 1} has ${fields.length} fields but the ${header ? 'header' : 'first row'} has ${width}`,
        {
          file,
        },
      );
    }
    rows.push(fields);
    lines.push(n + 1);
  }
  if (rows.length === 0) throw new DatasetFileError(`${file}: has no data rows`, { file });
  return { file, header, rows, lines };
}

function labelIndex(table: CsvTable, labelColumn: string): number {
  const width = (table.rows[0] as string[]).length;
  if (table.header) {
    const byName = table.header.indexOf(labelColumn);
    if (byName >= 0) return byName;
  }
  if (/^\d+$/.test(labelColumn)) {
    const i = Number(labelColumn);
    if (i < width) return i;
    throw new ValidationError(
      'dataset.label_column',
      `is column ${i} but ${table.file} has ${width} columns (0..${width - 1})`,
    );
  }
  if (!table.header && labelColumn === 'label') return width - 1; // headerless file: the last column by convention
  const known = table.header
    ? `; columns are ${table.header.join(', ')}`
    : ' (the file has no header; give a zero-based index)';
  throw new ValidationError(
    'dataset.label_column',
    `"${labelColumn}" is not a column of ${table.file}${known}`,
  );
}

function columnName(table: CsvTable, c: number): string {
  return table.header ? `column ${c + 1} "${table.header[c] ?? ''}"` : `column ${c + 1}`;
}

function features(table: CsvTable, label: number, rows: readonly number[]): Float32Array {
  const width = (table.rows[0] as string[]).length;
  const nf = width - 1;
  const out = new Float32Array(rows.length * nf);
  let k = 0;
  for (const r of rows) {
    const row = table.rows[r] as string[];
    for (let c = 0; c < width; c++) {
      if (c === label) continue;
      const raw = row[c] as string;
      const v = raw === '' ? NaN : Number(raw);
      if (!Number.isFinite(v)) {
        throw new DatasetFileError(
          `${table.file}: line ${table.lines[r] ?? '?'}, ${columnName(table, c)}: "${raw}" is not a number`,
          {
            file: table.file,
          },
        );
      }
      out[k++] = v; // integer-valued features are cast to float32 here, like every other feature
    }
  }
  return out;
}

/** Seed of the CSV holdout: the same file gives the same split in every process and run. */
export const CSV_HOLDOUT_SEED = 0x63737631;

/**
 * The held-out rows of a CSV without a test file, seeded (identical in every process): for class
 * labels stratified, `round(n_c * testFraction)` random rows of each class `c`, so a class-sorted file
 * gets every class in both splits (a class keeps at least one training row); for regression targets `round(n * testFraction)` random rows.
 * Both splits keep file order. `classOf` is null for regression.
 */
export function csvHoldout(
  n: number,
  testFraction: number,
  classOf: ((row: number) => number) | null,
): { train: number[]; test: number[] } {
  const isTest = new Uint8Array(n);
  if (classOf === null) {
    const order = permutation(n, new Rng(CSV_HOLDOUT_SEED));
    const k = Math.round(n * testFraction);
    for (let i = 0; i < k; i++) isTest[order[i] as number] = 1;
  } else {
    const byClass = new Map<number, number[]>();
    for (let r = 0; r < n; r++) {
      const c = classOf(r);
      let rows = byClass.get(c);
      if (rows === undefined) {
        rows = [];
        byClass.set(c, rows);
      }
      rows.push(r);
    }
    for (const [c, rows] of [...byClass].sort((a, b) => a[0] - b[0])) {
      const order = permutation(rows.length, new Rng(CSV_HOLDOUT_SEED, c + 1));
      // Every class keeps at least one training row.
      const k = Math.min(Math.round(rows.length * testFraction), rows.length - 1);
      for (let i = 0; i < k; i++) isTest[rows[order[i] as number] as number] = 1;
    }
  }
  const train: number[] = [];
  const test: number[] = [];
  for (let r = 0; r < n; r++) (isTest[r] === 1 ? test : train).push(r);
  return { train, test };
}

/**
 * Standardizes each of the `nf` feature columns in place to `(x - mean) / std`, with mean and
 * (population) standard deviation of the TRAINING split only, applied to both splits, so nothing about
 * the test rows leaks into training. A constant column (std 0) is only centered.
 */
export function standardizeFeatures(train: SplitData, test: SplitData, nf: number): void {
  const mean = new Float64Array(nf);
  const sq = new Float64Array(nf);
  const x = train.features as Float32Array;
  for (let r = 0; r < train.count; r++)
    for (let c = 0; c < nf; c++) mean[c] = (mean[c] as number) + (x[r * nf + c] as number);
  for (let c = 0; c < nf; c++) mean[c] = (mean[c] as number) / Math.max(1, train.count);
  for (let r = 0; r < train.count; r++) {
    for (let c = 0; c < nf; c++) {
      const d = (x[r * nf + c] as number) - (mean[c] as number);
      sq[c] = (sq[c] as number) + d * d;
    }
  }
  const inv = Float64Array.from(sq, (s) => {
    const std = Math.sqrt(s / Math.max(1, train.count));
    return std > 0 ? 1 / std : 1;
  });
  for (const split of [train, test]) {
    const f = split.features as Float32Array;
    for (let r = 0; r < split.count; r++)
      for (let c = 0; c < nf; c++)
        f[r * nf + c] = ((f[r * nf + c] as number) - (mean[c] as number)) * (inv[c] as number);
  }
}

/**
 * Reads a CSV dataset: numeric feature columns (as float32) plus a label column. Labels that are all
 * integers become int32 class indices (classes 0..max); labels with any non-number become class
 * indices of their distinct values in sorted order; other numbers become float32 regression
 * targets. The test split is `testPath`, or else a seeded holdout of `testFraction` of the rows,
 * stratified by class ({@link csvHoldout}).
 */
export async function readCsvDataset(
  id: string,
  path: string,
  testPath: string,
  labelColumn: string,
  testFraction: number,
  standardize = false,
): Promise<Dataset> {
  const trainTable = parseCsvText((await readDataFile(path)).toString('utf8'), path);
  const testTable =
    testPath === '' ? null : parseCsvText((await readDataFile(testPath)).toString('utf8'), testPath);
  const label = labelIndex(trainTable, labelColumn);
  const width = (trainTable.rows[0] as string[]).length;
  if (width < 2)
    throw new DatasetFileError(`${path}: needs at least one feature column besides the label`, {
      file: path,
    });
  if (testTable) {
    const testWidth = (testTable.rows[0] as string[]).length;
    if (testWidth !== width) {
      throw new DatasetFileError(`${testPath}: has ${testWidth} columns but ${path} has ${width}`, {
        file: testPath,
      });
    }
    if (testTable.header && trainTable.header && testTable.header[label] !== trainTable.header[label]) {
      throw new DatasetFileError(
        `${testPath}: label column ${label + 1} is "${testTable.header[label] ?? ''}" but in ${path} it is "${trainTable.header[label] ?? ''}"`,
        {
          file: testPath,
        },
      );
    }
  }

  // Label kind is decided on both files together so train and test agree on the class mapping.
  const rawLabels: { table: CsvTable; r: number }[] = [];
  for (const table of testTable ? [trainTable, testTable] : [trainTable]) {
    for (let r = 0; r < table.rows.length; r++) rawLabels.push({ table, r });
  }
  const value = (x: { table: CsvTable; r: number }): string =>
    (x.table.rows[x.r] as string[])[label] as string;
  const allNumbers = rawLabels.every((x) => isNumber(value(x)));
  const allIntegers =
    allNumbers && rawLabels.every((x) => Number.isInteger(Number(value(x))) && Number(value(x)) >= 0);
  let classNames: string[] = [];
  let toLabel: (s: string) => number;
  if (allIntegers) {
    const max = rawLabels.reduce((m, x) => Math.max(m, Number(value(x))), 0);
    classNames = Array.from({ length: max + 1 }, (_, i) => String(i));
    toLabel = Number;
  } else if (allNumbers) {
    toLabel = Number;
  } else {
    classNames = [...new Set(rawLabels.map(value))].sort();
    const index = new Map(classNames.map((n, i) => [n, i]));
    toLabel = (s) => index.get(s) as number;
  }
  const isClass = allIntegers || !allNumbers;

  const makeSplit = (table: CsvTable, rows: readonly number[]): SplitData => {
    const count = rows.length;
    const labels = isClass ? new Int32Array(count) : new Float32Array(count);
    rows.forEach((r, i) => (labels[i] = toLabel((table.rows[r] as string[])[label] as string)));
    return { count, features: features(table, label, rows), labels };
  };
  // Every feature is checked before any split decision, so a bad value is reported as such.
  if (!testTable)
    features(
      trainTable,
      label,
      trainTable.rows.map((_, r) => r),
    );
  const all = (table: CsvTable): number[] => table.rows.map((_, r) => r);
  let train: SplitData;
  let test: SplitData;
  if (testTable) {
    train = makeSplit(trainTable, all(trainTable));
    test = makeSplit(testTable, all(testTable));
  } else {
    const n = trainTable.rows.length;
    const rowLabel = (r: number): number => toLabel((trainTable.rows[r] as string[])[label] as string);
    const split = csvHoldout(n, testFraction, isClass ? rowLabel : null);
    if (split.test.length < 1 || split.train.length < 1) {
      throw new ValidationError(
        'dataset.test_fraction',
        `${testFraction} of ${n} rows in ${path} leaves ${split.test.length} test rows; each split needs at least one row`,
      );
    }
    train = makeSplit(trainTable, split.train);
    test = makeSplit(trainTable, split.test);
  }
  if (standardize) standardizeFeatures(train, test, width - 1);
  return {
    id,
    featureShape: [width - 1],
    featureDtype: 'float32',
    featureScale: 1,
    numClasses: classNames.length,
    classNames,
    labelDtype: isClass ? 'int32' : 'float32',
    train,
    test,
  };
}
