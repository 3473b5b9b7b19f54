import { readFileSync, realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { DatasetFileError, NotFoundError, ValidationError } from '../errors.ts';
import { clip } from '../limits.ts';

const gunzipAsync = promisify(gunzip);

/** Default largest dataset file (and gunzipped content) a process reads: 2 GiB. */
export const DEFAULT_MAX_DATASET_BYTES = 2 * 1024 ** 3;

/** Which files dataset readers may open (the data-loader's `--data-root`, `--max-dataset-bytes`). */
export interface DatasetAccessOptions {
  /** Folders datasets must lie in (symlinks resolved). @default no restriction */
  roots?: readonly string[];
  /** Largest file (and gunzipped content), bytes. @default DEFAULT_MAX_DATASET_BYTES */
  maxBytes?: number;
}

let accessRoots: string[] | undefined;
let accessMaxBytes = DEFAULT_MAX_DATASET_BYTES;

function realOrResolved(p: string): string {
  try {
    return realpathSync(resolve(p));
  } catch {
    return resolve(p);
  }
}

/**
 * Sets this process's dataset access policy (the data-loader's main does, once, from its flags):
 * every dataset file must be a regular file under one of `roots`, at most `maxBytes`. Without roots
 * any path is allowed (still regular files only, still size-limited).
 */
export function setDatasetAccess(options: DatasetAccessOptions): void {
  accessRoots = options.roots === undefined ? undefined : options.roots.map(realOrResolved);
  accessMaxBytes = options.maxBytes ?? DEFAULT_MAX_DATASET_BYTES;
}

/** The current policy (roots after symlink resolution). */
export function datasetAccess(): { roots: readonly string[] | undefined; maxBytes: number } {
  return { roots: accessRoots, maxBytes: accessMaxBytes };
}

const FIX_ROOTS =
  'move it under one of them, or start the data-loader with --data-root DIR (env DISTRAIN_DATA_ROOTS)';

/**
 * Checks that `file` may be read as a dataset: under the data roots (symlinks resolved), a regular
 * file (not a device such as /dev/zero, a FIFO or a folder), at most the size limit. Returns its real
 * path. A missing file is a NotFoundError; the rest are ValidationErrors naming `field`.
 */
export function checkDatasetFile(file: string, field = 'dataset.path'): string {
  const real = checkUnderRoots(file, field);
  const st = statSync(real);
  if (!st.isFile())
    throw new ValidationError(
      field,
      `${clip(file)} is not a regular file (a device, FIFO, socket or folder); give a dataset file`,
    );
  if (st.size > accessMaxBytes)
    throw new ValidationError(
      field,
      `${clip(file)} has ${st.size} bytes, over this loader's limit of ${accessMaxBytes}; use a smaller file or start the data-loader with --max-dataset-bytes N`,
    );
  return real;
}

/** Checks that a dataset folder lies under the data roots and is a folder; returns its real path. */
export function checkDatasetDir(dir: string, field = 'dataset.path'): string {
  const real = checkUnderRoots(dir, field);
  if (!statSync(real).isDirectory()) throw new ValidationError(field, `${clip(dir)} is not a folder`);
  return real;
}

function checkUnderRoots(path: string, field: string): string {
  let real: string;
  try {
    real = realpathSync(resolve(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFoundError(`${field}: ${clip(path)} does not exist`, { file: path, field, cause: err });
    throw new DatasetFileError(`${clip(path)} cannot be read: ${(err as Error).message}`, {
      file: path,
      cause: err,
    });
  }
  const roots = accessRoots;
  if (roots !== undefined && !roots.some((r) => real === r || real.startsWith(r.endsWith(sep) ? r : r + sep)))
    throw new ValidationError(
      field,
      `${clip(path)} is outside this data-loader's data roots (${roots.join(', ')}); ${FIX_ROOTS}`,
    );
  return real;
}

/** Reads a whole text file after {@link checkDatasetFile} (sync: the text readers are sync). */
export function readDataTextSync(file: string, field = 'dataset.path'): string {
  return readFileSync(checkDatasetFile(file, field), 'utf8');
}

/**
 * Reads a whole file after {@link checkDatasetFile}; a missing file is a NotFoundError, any other
 * failure a DatasetFileError.
 */
export async function readDataFile(file: string, field = 'dataset.path'): Promise<Buffer> {
  const real = checkDatasetFile(file, field);
  try {
    return await readFile(real);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new NotFoundError(`dataset file ${file} does not exist`, { file, cause: err });
    const reason = err instanceof Error ? err.message : String(err);
    throw new DatasetFileError(`dataset file ${file} cannot be read: ${reason}`, { file, cause: err });
  }
}

/** True when the bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Reads a file and gunzips it when it is gzip-compressed; corrupt or truncated gzip is a DatasetFileError. */
export async function readMaybeGzip(file: string): Promise<Buffer> {
  const raw = await readDataFile(file);
  if (!isGzip(raw)) return raw;
  try {
    // Bounded: a small gzip file must not inflate past the size limit (a "zip bomb").
    return await gunzipAsync(raw, { maxOutputLength: accessMaxBytes });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DatasetFileError(
      `dataset file ${file} is not a valid gzip file (${reason}); the file is corrupt or truncated`,
      {
        file,
        cause: err,
      },
    );
  }
}
