import { firstNonFinite } from '../limits.ts';
import { OptimizerArena } from './optimizer-kernel.ts';

/** What {@link float32Digest} reads from a set of float32 arrays. */
export interface Float32Digest {
  /**
   * The sum modulo 2^32 of the bit patterns (read as uint32). Addition modulo 2^32 does not depend on
   * order or grouping, so the shards' checksums of their parts add up to the checksum of the whole
   * parameter set however it is partitioned; any one changed bit changes it.
   */
  checksum: number;
  /** Whether no value is NaN or infinite. */
  finite: boolean;
}

/**
 * The checksum (added to `from`) and finiteness of every float32 of `arrays` (SIMD kernels for arena
 * arrays). The job's only trainer compares the checksum of its own copy of the parameters with the
 * shards' after every step it applied itself (`PushPullRequest.ack_only`), and learns from the same
 * digest whether the step diverged.
 */
export function float32Digest(arrays: Iterable<Float32Array>, from = 0): Float32Digest {
  let checksum = from | 0;
  let finite = true;
  for (const a of arrays) {
    const arena = OptimizerArena.of(a);
    if (arena !== undefined) {
      // Arena arrays (a shard's trainable parts, the trainer's own copy): SIMD kernels.
      checksum = (checksum + arena.checksum(a)) | 0;
      if (arena.hasNonFinite(a)) finite = false;
      continue;
    }
    checksum = (checksum + int32Sum(new Int32Array(a.buffer, a.byteOffset, a.length))) | 0;
    if (finite && firstNonFinite(a) >= 0) finite = false;
  }
  return { checksum: checksum >>> 0, finite };
}

/**
 * The wrapping int32 sum of `u`: `(x + y) | 0` of two int32 is one machine add. Four independent sums
 * keep the loop off one dependency chain (0.2 ms for 235k floats here, against 0.33 with one).
 */
function int32Sum(u: Int32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = u.length;
  const m = n - (n & 3);
  for (let i = 0; i < m; i += 4) {
    s0 = (s0 + (u[i] as number)) | 0;
    s1 = (s1 + (u[i + 1] as number)) | 0;
    s2 = (s2 + (u[i + 2] as number)) | 0;
    s3 = (s3 + (u[i + 3] as number)) | 0;
  }
  for (let i = m; i < n; i++) s0 = (s0 + (u[i] as number)) | 0;
  return (s0 + s1 + s2 + s3) | 0;
}
