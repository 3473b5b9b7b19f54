import { ValidationError } from '../errors.ts';
import { sizeOf } from '../tensor-codec.ts';
import type { VariableInfo } from '../variables.ts';

/** Largest part of a variable on the wire and on a shard: 4 MiB (BytePS-style partitioning). */
export const DEFAULT_MAX_PART_BYTES = 4 * 1024 * 1024;

/** One contiguous slice of a variable's flat float32 array, owned by one shard. */
export interface PartInfo {
  /** `${variableName}#${partIndex}`: the name the part travels under. */
  key: string;
  /** Index of the variable in the variable list. */
  variableIndex: number;
  /** Name of the variable. */
  variable: string;
  /** Index of the part inside its variable (0-based). */
  partIndex: number;
  /** First element of the part inside the variable's flat array. */
  offset: number;
  /** Number of float32 elements. */
  length: number;
  /** Shard that owns the part. */
  shard: number;
  /** Copied from the variable: false for averaged state (batch-norm moving statistics). */
  trainable: boolean;
}

/** Where every part of every variable lives. Computed identically by every role from the same list. */
export interface PartPlan {
  shardCount: number;
  maxPartBytes: number;
  /** Every part, in variable order then part order. */
  parts: readonly PartInfo[];
  /** Parts per variable (index = variable index), in part order. */
  byVariable: readonly (readonly PartInfo[])[];
  /** Parts per shard (index = shard), in variable order then part order. */
  byShard: readonly (readonly PartInfo[])[];
  /** Bytes per shard. */
  shardBytes: readonly number[];
  /** Part by key. */
  byKey: ReadonlyMap<string, PartInfo>;
}

/**
 * Cuts each variable's flat float32 array into parts of at most `maxPartBytes` and spreads the parts
 * over `shardCount` shards, balancing bytes. A variable is cut into the fewest parts that fit, of
 * near-equal length (so no tiny tail part). Assignment is greedy largest-first: parts sorted by size
 * (descending, ties by their position in variable order) each go to the least-loaded shard (ties to
 * the lowest shard index). The result depends only on its arguments, so trainers, evaluator and every
 * shard agree on it without talking.
 *
 * @param maxPartBytes @default 4 MiB ({@link DEFAULT_MAX_PART_BYTES}); a multiple of 4.
 */
export function partitionPlan(
  variables: readonly VariableInfo[],
  shardCount: number,
  maxPartBytes: number = DEFAULT_MAX_PART_BYTES,
): PartPlan {
  if (!Number.isInteger(shardCount) || shardCount < 1) {
    throw new ValidationError('shardCount', `must be an integer >= 1, got ${shardCount}`);
  }
  if (!Number.isInteger(maxPartBytes) || maxPartBytes < 4 || maxPartBytes % 4 !== 0) {
    throw new ValidationError('maxPartBytes', `must be a positive multiple of 4, got ${maxPartBytes}`);
  }
  const maxElems = maxPartBytes / 4;
  const parts: PartInfo[] = [];
  const byVariable: PartInfo[][] = [];
  const names = new Set<string>();
  variables.forEach((v, variableIndex) => {
    if (names.has(v.name))
      throw new ValidationError(`variables[${variableIndex}].name`, `duplicate name "${v.name}"`);
    names.add(v.name);
    const n = sizeOf(v.shape);
    // A zero-element variable still gets one (empty) part so every variable has an owner.
    const count = Math.max(1, Math.ceil(n / maxElems));
    const own: PartInfo[] = [];
    for (let i = 0; i < count; i++) {
      const start = Math.floor((n * i) / count);
      const end = Math.floor((n * (i + 1)) / count);
      const p: PartInfo = {
        key: `${v.name}#${i}`,
        variableIndex,
        variable: v.name,
        partIndex: i,
        offset: start,
        length: end - start,
        shard: 0,
        trainable: v.trainable,
      };
      own.push(p);
      parts.push(p);
    }
    byVariable.push(own);
  });

  const order = parts.map((_, i) => i);
  order.sort((a, b) => (parts[b] as PartInfo).length - (parts[a] as PartInfo).length || a - b);
  const shardBytes = new Array<number>(shardCount).fill(0);
  for (const i of order) {
    const p = parts[i] as PartInfo;
    let best = 0;
    for (let s = 1; s < shardCount; s++)
      if ((shardBytes[s] as number) < (shardBytes[best] as number)) best = s;
    p.shard = best;
    shardBytes[best] = (shardBytes[best] as number) + p.length * 4;
  }
  const byShard: PartInfo[][] = Array.from({ length: shardCount }, () => []);
  for (const p of parts) (byShard[p.shard] as PartInfo[]).push(p);
  for (const p of parts) Object.freeze(p);
  return Object.freeze({
    shardCount,
    maxPartBytes,
    parts,
    byVariable,
    byShard,
    shardBytes,
    byKey: new Map(parts.map((p) => [p.key, p])),
  });
}
