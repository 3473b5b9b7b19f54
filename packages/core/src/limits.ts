import { ValidationError } from './errors.ts';

/**
 * Bounds of every number, string and list a request may carry (all services). A value outside them
 * is a client mistake: a ValidationError naming the field (INVALID_ARGUMENT), never a loop, an
 * allocation or a crash. The numbers are far above any real job and far below what hurts a process.
 */
export const LIMITS = Object.freeze({
  /** Trainers of one job (ranks are `0 .. worldSize - 1`). */
  maxWorldSize: 1024,
  /** Parameter-server shards of one job. */
  maxShards: 256,
  /** Updates of one job (epochs × steps per epoch): 2^40. */
  maxSteps: 2 ** 40,
  /** Steps of one epoch. */
  maxStepsPerEpoch: 2 ** 31 - 1,
  /** Epochs of one job. */
  maxEpochs: 1_000_000,
  /** Samples of one push or batch. */
  maxSampleCount: 2 ** 24,
  /** Characters of an id (job, dataset, variable, part). */
  maxIdLength: 256,
  /** Characters of a free-text field (reason, message, log line). */
  maxTextLength: 64 * 1024,
  /** Entries of a repeated field of variables or tensors. */
  maxListLength: 65_536,
  /** Elements (float32) of one job's parameters on a parameter server: 1 Gi elements, 4 GiB. */
  maxParameterElements: 2 ** 30,
  /** Characters of an echoed value in an error message. */
  maxEchoLength: 200,
});

/** `value` for an error message: at most `max` characters, longer ones cut with the length named. */
export function clip(value: unknown, max: number = LIMITS.maxEchoLength): string {
  const s = typeof value === 'string' ? value : String(value);
  return s.length <= max ? s : `${s.slice(0, max)}... (${s.length} characters)`;
}

/**
 * Checks an integer field: a safe integer in `[min, max]`. Returns it. `what` adds the unit or
 * meaning to the message (`"rank must be below world size 4"`).
 */
export function checkInt(field: string, value: number, min: number, max: number, what = ''): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
    throw new ValidationError(
      field,
      `must be an integer ${range}${what ? ` (${what})` : ''}, got ${clip(value)}`,
    );
  }
  return value;
}

/** Checks a finite number field (not NaN or ±Infinity). Returns it. */
export function checkFinite(field: string, value: number): number {
  if (!Number.isFinite(value))
    throw new ValidationError(field, `must be a finite number, got ${clip(value)}`);
  return value;
}

/** Checks an id field: non-empty (unless `optional`) and at most `LIMITS.maxIdLength` characters. */
export function checkId(field: string, value: string, optional = false): string {
  if (!optional && !value) throw new ValidationError(field, 'must not be empty');
  if (value.length > LIMITS.maxIdLength)
    throw new ValidationError(
      field,
      `must be at most ${LIMITS.maxIdLength} characters, got ${value.length}: ${clip(value, 40)}`,
    );
  return value;
}

/** Checks a free-text field's length. */
export function checkText(field: string, value: string, max: number = LIMITS.maxTextLength): string {
  if (value.length > max)
    throw new ValidationError(field, `must be at most ${max} characters, got ${value.length}`);
  return value;
}

/** Checks a repeated field's length. */
export function checkList<T>(
  field: string,
  list: readonly T[],
  max: number = LIMITS.maxListLength,
): readonly T[] {
  if (list.length > max)
    throw new ValidationError(field, `must have at most ${max} entries, got ${list.length}`);
  return list;
}

/**
 * Index of the first non-finite value (NaN, ±Infinity) of `data`, or -1. One pass over the float32
 * view; `x - x` is 0 for finite numbers and NaN otherwise, so the sum stays 0 until the first bad one
 * (checked in blocks to keep the common path branch-free).
 */
export function firstNonFinite(data: Float32Array): number {
  const n = data.length;
  const BLOCK = 1024;
  for (let start = 0; start < n; start += BLOCK) {
    const end = Math.min(n, start + BLOCK);
    let acc = 0;
    for (let i = start; i < end; i++) acc += (data[i] as number) * 0;
    if (acc !== 0) {
      for (let i = start; i < end; i++) if (!Number.isFinite(data[i] as number)) return i;
    }
  }
  return -1;
}
