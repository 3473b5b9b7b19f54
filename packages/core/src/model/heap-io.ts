import * as tf from '@tensorflow/tfjs';
import type { DataType, TensorInfo } from '@tensorflow/tfjs';

/*
 * Host <-> tensor transfers that make no garbage on the wasm backend. A training step used to
 * allocate several large ArrayBuffers (the float32 input, the dropout masks, two copies of every
 * gradient from `dataSync`); V8 counts them as external memory and answers with frequent full
 * mark-compact collections (~4.7 ms per step in a trainer). On wasm these helpers write new tensors
 * straight into the wasm heap and read results straight out of it; on other backends they fall back
 * to plain typed arrays (tfjs-node may keep a reference to the array it was given, so nothing is
 * reused there).
 */

/** The parts of tfjs-backend-wasm's `BackendWasm` used here (public methods of the class). */
interface HeapBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** The active backend when it is tfjs-backend-wasm, else undefined. */
export function wasmHeapBackend(): HeapBackend | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const b = tf.engine().backend as unknown as Partial<HeapBackend>;
  return typeof b.makeOutput === 'function' && typeof b.typedArrayFromHeap === 'function'
    ? (b as HeapBackend)
    : undefined;
}

/**
 * A new float32 tensor of `shape` whose values `fill` writes into `out` (all of it; `out` may hold
 * old data). On wasm `out` is a view of the tensor's own heap memory: `fill` must not create
 * tensors (a heap growth would detach the view). Tracked by the enclosing `tf.tidy` like any tensor.
 */
export function filledTensor(shape: number[], fill: (out: Float32Array) => void): tf.Tensor {
  const heap = wasmHeapBackend();
  if (heap === undefined) {
    const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
    fill(out);
    return tf.tensor(out, shape, 'float32');
  }
  const info = heap.makeOutput(shape, 'float32');
  fill(heap.typedArrayFromHeap(info) as Float32Array);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * Copies (`add` false) or adds (`add` true) the values of a float32 tensor into `into`, which must
 * have exactly as many elements. On wasm it reads the heap in place (no copy of the tensor).
 */
export function readInto(t: tf.Tensor, into: Float32Array, add: boolean): void {
  if (t.size !== into.length) throw new Error(`readInto: tensor of ${t.size} values into ${into.length}`);
  const heap = wasmHeapBackend();
  const src = heap === undefined || t.dtype !== 'float32' ? t.dataSync() : heap.typedArrayFromHeap(t);
  if (!add) {
    into.set(src);
    return;
  }
  for (let i = 0; i < into.length; i++) into[i] = (into[i] as number) + (src[i] as number);
}

/** The first value of a numeric tensor (a scalar loss), without copying it on wasm. */
export function firstValue(t: tf.Tensor): number {
  const heap = wasmHeapBackend();
  const src = heap === undefined ? t.dataSync() : heap.typedArrayFromHeap(t);
  return Number(src[0] ?? Number.NaN);
}
