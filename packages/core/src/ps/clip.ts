/**
 * Gradient clipping by global norm on the parameter server. The aggregate gradient of a part is
 * `g = scale * sum_r grads[r]` (rank order, scale = 1 / total samples); a shard's partial is
 * `sum over its parts of ||g||^2`. The global norm is `sqrt(sum over shards of partials)`, summed in
 * shard order, and the update then uses `scale * clipFactor(norm, clipNorm)`: with S shards exchanging
 * partials, the result equals one shard's (the shards are a partition of the parts, and every shard
 * sums the same partials in the same order).
 */

/**
 * `sum_i (scale * sum_r grads[r][i])^2` of one part, accumulated in double precision in the same rank
 * order as the update.
 */
export function sumOfSquares(grads: readonly Float32Array[], scale: number): number {
  const first = grads[0];
  if (first === undefined) return 0;
  const n = first.length;
  let total = 0;
  if (grads.length === 1) {
    for (let i = 0; i < n; i++) {
      const g = (first[i] as number) * scale;
      total += g * g;
    }
    return total;
  }
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let r = 0; r < grads.length; r++) s += (grads[r] as Float32Array)[i] as number;
    const g = s * scale;
    total += g * g;
  }
  return total;
}

/** Global norm from per-shard partial sums of squares, summed in shard order. */
export function globalNorm(partials: readonly number[]): number {
  let total = 0;
  for (const p of partials) total += p;
  return Math.sqrt(total);
}

/** `min(1, clipNorm / norm)`; 1 when clipping is off (clipNorm <= 0) or the norm is 0. */
export function clipFactor(norm: number, clipNorm: number): number {
  if (!(clipNorm > 0) || !(norm > clipNorm)) return 1;
  return clipNorm / norm;
}

/**
 * Whether weight decay applies to a variable: with scope 'kernels' (the default) only dense and
 * conv2d kernels decay; biases and batch-normalization gamma/beta do not. 'all' decays everything
 * trainable.
 */
export function decays(variable: string, scope: 'kernels' | 'all'): boolean {
  return scope === 'all' || variable.endsWith('/kernel');
}
