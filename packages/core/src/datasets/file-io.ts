import { readFile } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { DatasetFileError, NotFoundError } from '../errors.ts';

const gunzipAsync = promisify(gunzip);

/** Reads a whole file; a missing file is a NotFoundError, any other failure a DatasetFileError. */
export async function readDataFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
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
    return await gunzipAsync(raw);
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
