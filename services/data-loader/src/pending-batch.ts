import { GRPC_PREFIX_BYTES, encodeBatch, planBatch, writeBatch } from './batch-encoder.ts';
import type { BatchHeader, BatchPlan, EncodeLayout } from './batch-encoder.ts';

/**
 * Responses of a StreamBatches call between the handler's `write` and grpc-js's serializer: a
 * {@link PendingBatch} is the plan of one batch, encoded into a reused buffer either ahead of time
 * ({@link AheadEncoder}) or when grpc-js asks for its bytes ({@link serializePending}).
 */

/** One response, planned but not yet encoded: the serializer encodes it when gRPC sends it. */
export class PendingBatch {
  /** Exact encoded size. */
  readonly bytes: number;
  readonly plan: BatchPlan;
  /** The stream's encoder that may encode it ahead of time; null: encoded when serialized. */
  ahead: AheadEncoder | null = null;
  /** Its bytes when encoded ahead: a view of `slot`, one of the {@link AheadEncoder}'s buffers. */
  encoded: Buffer | null = null;
  slot: Buffer | null = null;
  constructor(
    readonly layout: EncodeLayout,
    readonly header: BatchHeader,
    readonly order: Uint32Array,
    readonly start: number,
    readonly count: number,
  ) {
    this.plan = planBatch(layout, header, order, start, count);
    this.bytes = this.plan.size;
  }
}

/** Largest message kept in the shared scratch buffer; bigger ones get their own allocation. */
const SCRATCH_MAX_BYTES = 8 * 1024 * 1024;
let scratch = Buffer.allocUnsafeSlow(0);

/** Largest message an {@link AheadEncoder} encodes ahead (it holds `depth` buffers of this size). */
const AHEAD_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Encodes the next batches of one stream ahead of time, when the event loop is otherwise idle (a
 * `setImmediate` after each write and each send), into a few buffers of its own. grpc-js asks for
 * a message's bytes only once the previous one is written, and while the receiver has not opened
 * its flow-control window the server just waits; gathering the next batch (about 50 µs for 128
 * Fashion-MNIST samples) in that wait takes it off the path of every message. The batches are
 * still sent in the order written, each encoded once.
 */
export class AheadEncoder {
  /** Written and not yet serialized, in order. */
  private readonly queue: PendingBatch[] = [];
  /** Buffers free to encode into. */
  private readonly free: Buffer[] = [];
  private buffers = 0;
  private scheduled = false;

  /** @param depth batches encoded ahead at most (each holds one buffer). @default 2 */
  constructor(private readonly depth = 2) {}

  /** Registers `p` before it is written to the call (the write may serialize it at once). */
  add(p: PendingBatch): void {
    p.ahead = this;
    this.queue.push(p);
    this.schedule();
  }

  /** The bytes of `p` if they were encoded ahead, else null; `p` leaves the queue either way. */
  take(p: PendingBatch): Buffer | null {
    const i = this.queue[0] === p ? 0 : this.queue.indexOf(p);
    if (i === 0) this.queue.shift();
    else if (i > 0) this.queue.splice(i, 1);
    const bytes = p.encoded;
    // grpc-js copies the bytes into its frame before anything else runs, so the buffer is free
    // again for the next encode, which only runs from a later setImmediate.
    if (p.slot !== null) this.free.push(p.slot);
    p.encoded = null;
    p.slot = null;
    p.ahead = null;
    this.schedule();
    return bytes;
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const n = Math.min(this.depth, this.queue.length);
    for (let k = 0; k < n; k++) {
      const p = this.queue[k] as PendingBatch;
      if (p.encoded !== null || p.bytes > AHEAD_MAX_BYTES) continue;
      const need = GRPC_PREFIX_BYTES + p.bytes;
      let buf = this.free.pop();
      if (buf === undefined) {
        if (this.buffers >= this.depth) return; // every buffer holds a batch not yet sent
        this.buffers++;
        buf = Buffer.allocUnsafeSlow(need);
      } else if (buf.length < need) buf = Buffer.allocUnsafeSlow(need);
      p.slot = buf;
      // At GRPC_PREFIX_BYTES, as in the receiver's buffer (the padding aligns data for both).
      p.encoded = writeBatch(
        buf.subarray(GRPC_PREFIX_BYTES, need),
        p.layout,
        p.header,
        p.order,
        p.start,
        p.count,
        p.plan,
      );
    }
  };
}

/**
 * Encodes a {@link PendingBatch} (or takes its bytes encoded ahead by its {@link AheadEncoder}) into
 * one process-wide scratch buffer and returns a view of it.
 * Only for a gRPC `responseSerialize`: grpc-js copies the returned bytes into its length-prefixed
 * frame before `serialize` returns to it (server-interceptors `serializeMessage`), so the scratch is
 * free again before the next message is encoded. This saves one message-sized allocation per batch,
 * and messages waiting in a stream's write queue stay small (a plan, not 100 kB of bytes). The
 * message sits at {@link GRPC_PREFIX_BYTES} in the scratch, as in the receiver's buffer.
 */
export function serializePending(p: PendingBatch): Buffer {
  const early = p.ahead?.take(p) ?? null;
  if (early !== null) return early;
  const need = p.bytes + GRPC_PREFIX_BYTES;
  if (need > SCRATCH_MAX_BYTES) return encodeBatch(p.layout, p.header, p.order, p.start, p.count);
  if (scratch.length < need) scratch = Buffer.allocUnsafeSlow(Math.max(need, 2 * scratch.length, 64 * 1024));
  const buf = scratch.subarray(GRPC_PREFIX_BYTES, need);
  return writeBatch(buf, p.layout, p.header, p.order, p.start, p.count, p.plan);
}
