import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ValidationError } from '../errors.ts';

/**
 * V8's old-generation growing factor, as `--heap-growing-percent` (factor = 1 + percent/100), for
 * the roles that receive tensors over ZeroMQ every step (trainer, parameter-server shard).
 *
 * Why: each received frame is a zeromq.js external buffer (`AdjustExternalMemory(+bytes)`), freed
 * only when a GC finalizes it. With V8's own factor (limit ~2x a 16-60 MB JS heap) the shard ran a
 * full (incremental) Mark-Compact every ~15 steps of the Fashion-MNIST MLP (940 KB each way; the
 * trainer 4-33 per epoch): `--trace-incremental-marking` shows it started for "allocation limit", "task"
 * and "external memory pressure" with the JS old generation flat at 16 of a 32-40 MB limit, so the
 * growth it counts is the external frames. ~30 per 469-step epoch in the shard; their pauses landed
 * on half of the slow steps. At 300 (factor 4): 6-13 in the shard, 1-2 in the trainer, GC time
 * inside steps 0.65-0.75 -> 0.2-0.35 s per epoch, peak RSS unchanged (BENCHMARKS.md, "Slow
 * steps"): the JS heaps stay small (tensors live in WebAssembly memory and external buffers).
 */
export const DATA_PLANE_HEAP_GROWING_PERCENT = 300;

/**
 * Sets V8's heap growing factor for a data-plane role (see {@link DATA_PLANE_HEAP_GROWING_PERCENT}).
 * Call first thing in the role's `main.ts`. V8 reads the flag each time it recomputes the limit
 * (after every Mark-Compact), so setting it at run time takes effect from the next one. A
 * `--heap-growing-percent` given on the command line (`execArgv`) wins: then nothing is set.
 * Returns the percent set, or undefined when the command line's was kept.
 */
export function tuneHeapForDataPlane(
  percent: number = DATA_PLANE_HEAP_GROWING_PERCENT,
  execArgv: readonly string[] = process.execArgv,
): number | undefined {
  if (!Number.isInteger(percent) || percent < 0 || percent > 1000)
    throw new ValidationError(
      'heapGrowingPercent',
      `must be an integer from 0 (V8's own factor) to 1000, got ${String(percent)}`,
    );
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return undefined;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}

/** Bytes of received frames after which {@link FrameCollector} collects the young generation. */
export const FRAME_COLLECT_BYTES = 16 * 1024 * 1024;

type GcFunction = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;
let gcFunction: GcFunction | undefined;

/** V8's `gc` (as with `--expose-gc`), from a fresh context after setting the flag at run time. */
function exposedGc(): GcFunction {
  if (gcFunction === undefined) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as GcFunction;
  }
  return gcFunction;
}

/**
 * Frees received ZeroMQ frames in a role's idle time. Each frame is external memory that only a GC
 * releases; a shard receiving every rank's gradients (2 x 940 KB per step for the MLP with two
 * trainers) otherwise reaches V8's external-memory limit every ~20 steps and pays a full
 * Mark-Compact (4-17 ms pauses, plus incremental marking steps, inside pushes). The frames die young,
 * so a scavenge frees them: `received` counts their bytes, and `idle` (called when the step's
 * replies are out, before the next pushes can arrive) runs one young-generation collection once
 * {@link FRAME_COLLECT_BYTES} have come in since the last. A scavenge costs ~0.5 ms off the
 * critical path, against the Mark-Compacts on it (BENCHMARKS.md, "Slow steps").
 */
export class FrameCollector {
  private pending = 0;
  private scheduled = false;

  /** @param collect the collection to run; @default V8's young-generation GC */
  constructor(
    private readonly thresholdBytes: number = FRAME_COLLECT_BYTES,
    private readonly collect: () => void = () => exposedGc()({ type: 'minor' }),
  ) {}

  /** Counts `bytes` of received frames. */
  received(bytes: number): void {
    this.pending += bytes;
  }

  /** Between steps: collects the young generation (after the current I/O) when enough has come in. */
  idle(): void {
    if (this.scheduled || this.pending < this.thresholdBytes) return;
    this.scheduled = true;
    this.pending = 0;
    setImmediate(() => {
      this.scheduled = false;
      this.collect();
    });
  }
}
