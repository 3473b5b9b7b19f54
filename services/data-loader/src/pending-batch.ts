import { GRPC_PREFIX_BYTES, encodeBatch, planBatch, writeBatch } from './batch-encoder.ts';
import type { BatchHeader, BatchPlan, EncodeLayout } from './batch-encoder.ts';

/**
 * Responses of a StreamBatches call between the handler's `write` and grpc-js's serializer: a
 * {@link PendingBatch} is the plan of one batch, encoded into a reused buffer when grpc-js asks for
 * its bytes ({@link serializePending}).
 */

/** One response, planned but not yet encoded: the serializer encodes it when gRPC sends it. */
export class PendingBatch {
  /** Exact encoded size. */
  readonly bytes: number;
  readonly plan: BatchPlan;
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

/**
 * Encodes a {@link PendingBatch} into one process-wide scratch buffer and returns a view of it.
 * Only for a gRPC `responseSerialize`: grpc-js copies the returned bytes into its length-prefixed
 * frame before `serialize` returns to it (server-interceptors `serializeMessage`), so the scratch is
 * free again before the next message is encoded. This saves one message-sized allocation per batch,
 * and messages waiting in a stream's write queue stay small (a plan, not 100 kB of bytes). The
 * message sits at {@link GRPC_PREFIX_BYTES} in the scratch, as in the receiver's buffer.
 */
export function serializePending(p: PendingBatch): Buffer {
  const need = p.bytes + GRPC_PREFIX_BYTES;
  if (need > SCRATCH_MAX_BYTES) return encodeBatch(p.layout, p.header, p.order, p.start, p.count);
  if (scratch.length < need) scratch = Buffer.allocUnsafeSlow(Math.max(need, 2 * scratch.length, 64 * 1024));
  const buf = scratch.subarray(GRPC_PREFIX_BYTES, need);
  return writeBatch(buf, p.layout, p.header, p.order, p.start, p.count, p.plan);
}
