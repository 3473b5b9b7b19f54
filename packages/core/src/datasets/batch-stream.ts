// Over 400 lines: one stream state machine (reconnects, flow control, idle timeout) in one class.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { AbortedError, DistrainError, isServiceError, TimeoutError, UnavailableError } from '../errors.ts';
import { decodeTensor } from '../tensor-codec.ts';
import type { HostTensor } from '../tensor-codec.ts';
import type { DataLoaderServiceClient } from '../generated/distrain/v1/DataLoaderService.ts';
import type { StreamBatchesRequest } from '../generated/distrain/v1/StreamBatchesRequest.ts';
import type { StreamBatchesResponse__Output } from '../generated/distrain/v1/StreamBatchesResponse.ts';
import { distrainProto } from '../proto.ts';
import { decodeBatchMessage } from './batch-decoder.ts';
import { backoffDelay } from '../retry.ts';
import { DEFAULT_LOADER_RETRY_BUDGET_MS } from '../worker-config.ts';

/** One batch as a trainer or the evaluator receives it: rank's slice of global batch `step`. */
export interface DataBatch {
  epoch: number;
  step: number;
  stepsInEpoch: number;
  /** Samples in the whole global batch (the last one of an epoch may be short). */
  globalBatchSize: number;
  /** Offset of this slice inside the global batch. */
  offset: number;
  /** [n, ...featureShape], uint8 or float32 (multiply by the dataset's featureScale after casting). */
  features: HostTensor;
  /** [n] int32 class indices or float32 targets. */
  labels: HostTensor;
  /** Dataset index of each of the n samples. */
  indices: Uint32Array;
  /** Text datasets: real (unpadded) tokens of each of the n samples; empty otherwise. */
  lengths: Uint32Array;
  /** Bytes of the message on the wire (features + labels + indices + header), for metrics. */
  wireBytes: number;
}

/** Options of {@link streamBatches}. */
export interface BatchStreamOptions {
  /** Batches decoded ahead of the consumer; the gRPC stream is paused when this many wait. @default 4 */
  prefetch?: number;
  /** Reconnects after UNAVAILABLE, a broken stream or an idle timeout, counted since the last batch. @default unbounded (the time budget bounds them) */
  retries?: number;
  /**
   * How long the stream keeps reconnecting to an unreachable data-loader, from the first failure
   * since the last batch; then `next()` rejects with an UnavailableError naming the address.
   * @default DEFAULT_LOADER_RETRY_BUDGET_MS (60 s)
   */
  retryBudgetMs?: number;
  /** First reconnect backoff, doubled per consecutive failure with full jitter, at most `maxBackoffMs`. @default 200 */
  backoffMs?: number;
  /** Largest reconnect backoff (so a loader that is back is found within about this long). @default 2000 */
  maxBackoffMs?: number;
  /** The data-loader's host:port, for messages. @default the client's channel target */
  address?: string;
  /** Called at the first failed attempt of an outage (the stream is reconnecting). */
  onOutage?: (info: { address: string; step: number; error: unknown }) => void;
  /** Called when a batch arrives after an outage, with how long the stream waited. */
  onRecovered?: (info: { address: string; step: number; waitedMs: number; reconnects: number }) => void;
  /** Longest wait for the next message while the consumer is waiting; then the call is retried. @default 60000 */
  idleTimeoutMs?: number;
  /** Cancels the stream; a waiting `next()` rejects with an AbortedError. */
  signal?: AbortSignal;
}

/** The async iterator {@link streamBatches} returns; `cancel()` (or `return()`) stops the call. */
export interface BatchStream extends AsyncIterableIterator<DataBatch> {
  /** Cancels the gRPC call and ends the iteration. */
  cancel(): void;
  /** Reconnects made so far (for logs and tests). */
  readonly reconnects: number;
}

interface StreamMethod {
  path: string;
  requestSerialize: (req: StreamBatchesRequest) => Buffer;
}
let method: StreamMethod | undefined;

function streamMethod(): StreamMethod {
  if (method) return method;
  const def = distrainProto().DataLoaderService.service.StreamBatches;
  if (!def) throw new DistrainError('distrain.v1.DataLoaderService has no StreamBatches method');
  method = {
    path: def.path,
    requestSerialize: def.requestSerialize as (req: StreamBatchesRequest) => Buffer,
  };
  return method;
}

/**
 * Channel options for a data-loader client that streams batches: grpc-js backs off reconnecting a
 * dead peer up to 120 s by default, so a loader back after a 30 s outage would be found only ~15 s
 * later; with these the channel retries its connection at least every 2 s.
 */
export const LOADER_CHANNEL_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2_000,
  'grpc-node.flow_control_window': 4 * 1024 * 1024,
} as const;

const RETRYABLE = new Set<number>([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED]);

/** True when a failed stream is worth reopening from the next step. */
function isRetryable(err: unknown): boolean {
  if (err instanceof TimeoutError) return true;
  if (!isServiceError(err)) return false;
  if (RETRYABLE.has(err.code)) return true;
  // A peer that dies mid-stream shows up as RST_STREAM / a dropped connection, not UNAVAILABLE.
  return err.code === GrpcStatus.INTERNAL && /RST_STREAM|connection|stream/i.test(err.details);
}

/** Turns one response into a {@link DataBatch}; tensors are views of the message (no copy for uint8). */
export function toDataBatch(m: StreamBatchesResponse__Output): DataBatch {
  if (!m.features || !m.labels)
    throw new DistrainError('data-loader sent a batch without features or labels', { step: m.step });
  const features = decodeTensor(m.features, 'features');
  const labels = decodeTensor(m.labels, 'labels');
  return {
    epoch: m.epoch,
    step: m.step,
    stepsInEpoch: m.stepsInEpoch,
    globalBatchSize: m.globalBatchSize,
    offset: m.offset,
    features,
    labels,
    indices: Uint32Array.from(m.indices),
    lengths: Uint32Array.from(m.lengths ?? []),
    wireBytes: features.data.byteLength + labels.data.byteLength + m.indices.length * 3 + 32,
  };
}

interface Waiter {
  resolve(r: IteratorResult<DataBatch>): void;
  reject(err: unknown): void;
}

class BatchStreamImpl implements BatchStream {
  private readonly queue: DataBatch[] = [];
  private waiter: Waiter | null = null;
  private call: ClientReadableStream<DataBatch> | null = null;
  private generation = 0;
  private nextStep: number;
  private endStep: number;
  private failures = 0;
  /** When the current outage began (the first failure since the last batch); 0: none. */
  private outageSinceMs = 0;
  private paused = false;
  private finished = false;
  private failure: unknown = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly prefetch: number;
  private readonly retries: number;
  private readonly retryBudgetMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly address: string;
  private readonly idleTimeoutMs: number;
  reconnects = 0;

  constructor(
    private readonly client: DataLoaderServiceClient,
    private readonly request: StreamBatchesRequest,
    private readonly options: BatchStreamOptions,
  ) {
    this.prefetch = Math.max(1, options.prefetch ?? 4);
    this.retries = options.retries ?? Number.POSITIVE_INFINITY;
    this.retryBudgetMs = options.retryBudgetMs ?? DEFAULT_LOADER_RETRY_BUDGET_MS;
    this.backoffMs = options.backoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 2_000;
    this.address = options.address ?? client.getChannel().getTarget().replace(/^dns:/, '');
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.nextStep = request.startStep ?? 0;
    this.endStep = request.endStep ?? 0;
    const signal = options.signal;
    if (signal?.aborted)
      this.fail(new AbortedError('batch stream aborted before it started', { jobId: request.jobId }));
    else {
      signal?.addEventListener('abort', this.onAbort, { once: true });
      this.open();
    }
  }

  private readonly onAbort = (): void => {
    this.fail(new AbortedError('batch stream aborted', { jobId: this.request.jobId, step: this.nextStep }));
  };

  private open(): void {
    const gen = ++this.generation;
    // The generic grpc-js entry point with our own response decoder: batches arrive as DataBatch
    // views of the received bytes, without protobufjs building an intermediate object.
    const method = streamMethod();
    const call = this.client.makeServerStreamRequest<StreamBatchesRequest, DataBatch>(
      method.path,
      method.requestSerialize,
      decodeBatchMessage,
      { ...this.request, startStep: this.nextStep },
    );
    this.call = call;
    this.paused = false;
    call.on('data', (m: DataBatch) => {
      if (gen === this.generation) this.onData(m);
    });
    call.on('error', (err: ServiceError) => {
      if (gen === this.generation) this.onError(err);
    });
    call.on('end', () => {
      if (gen === this.generation) this.onEnd();
    });
    this.armIdle();
  }

  private closeCall(): void {
    this.generation++;
    this.clearIdle();
    const call = this.call;
    this.call = null;
    if (call) {
      call.removeAllListeners('data');
      call.on('error', () => {}); // the cancel below reports CANCELLED; nobody listens any more
      call.cancel();
    }
  }

  private onData(batch: DataBatch): void {
    const m = batch;
    if (m.step < this.nextStep) return; // already delivered before a reconnect
    if (this.outageSinceMs !== 0) {
      this.options.onRecovered?.({
        address: this.address,
        step: m.step,
        waitedMs: Date.now() - this.outageSinceMs,
        reconnects: this.reconnects,
      });
      this.outageSinceMs = 0;
    }
    this.failures = 0;
    this.nextStep = m.step + 1;
    if (this.endStep === 0) this.endStep = m.stepsInEpoch;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: batch, done: false });
    } else {
      this.queue.push(batch);
    }
    if (this.queue.length >= this.prefetch && this.call && !this.paused) {
      this.paused = true;
      this.call.pause();
    }
    this.armIdle();
  }

  private onEnd(): void {
    // A clean end before the last step (a server that shut down gracefully) is a break, not the end.
    if (this.endStep !== 0 && this.nextStep < this.endStep) {
      this.retry(
        new DistrainError(`data-loader stream ended at step ${this.nextStep} of ${this.endStep}`, {
          step: this.nextStep,
        }),
        true,
      );
      return;
    }
    this.clearIdle();
    this.call = null;
    this.finished = true;
    this.settle();
  }

  private onError(err: unknown): void {
    this.retry(err, isRetryable(err));
  }

  private retry(err: unknown, retryable: boolean): void {
    this.closeCall();
    if (!retryable) {
      this.fail(err);
      return;
    }
    const now = Date.now();
    if (this.outageSinceMs === 0) {
      this.outageSinceMs = now;
      this.options.onOutage?.({ address: this.address, step: this.nextStep, error: err });
    }
    const waitedMs = now - this.outageSinceMs;
    if (this.failures >= this.retries || waitedMs >= this.retryBudgetMs) {
      const last = isServiceError(err) ? err.details : err instanceof Error ? err.message : String(err);
      this.fail(
        new UnavailableError(
          `data-loader at ${this.address} unreachable: no batch for ${Math.round(waitedMs / 1000)} s after ${this.failures} reconnects (last error: ${last})`,
          { cause: err, jobId: this.request.jobId, step: this.nextStep },
        ),
      );
      return;
    }
    // Never wait past the budget's end: the last attempt lands on it.
    const delay = Math.min(
      backoffDelay(this.failures, this.backoffMs, this.maxBackoffMs),
      this.retryBudgetMs - waitedMs,
    );
    this.failures++;
    this.reconnects++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.finished) this.open();
    }, delay);
  }

  private armIdle(): void {
    if (!this.call || this.paused) {
      this.clearIdle(); // a paused stream waits for the consumer, not the server
      return;
    }
    if (this.idleTimer) {
      this.idleTimer.refresh(); // once per batch: cheaper than a new timer
      return;
    }
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      this.retry(
        new TimeoutError(`no batch from the data-loader for ${this.idleTimeoutMs} ms`, {
          step: this.nextStep,
        }),
        true,
      );
    }, this.idleTimeoutMs);
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private fail(err: unknown): void {
    if (this.finished) return;
    this.failure = err;
    this.shutdown();
    this.settle();
  }

  private shutdown(): void {
    this.finished = true;
    this.closeCall();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }

  /** Hands the end (or the failure) to a waiting consumer once the queue is drained. */
  private settle(): void {
    if (!this.waiter || this.queue.length > 0) return;
    const w = this.waiter;
    this.waiter = null;
    if (this.failure !== null) w.reject(this.failure);
    else w.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<DataBatch>> {
    const batch = this.queue.shift();
    if (batch) {
      if (this.paused && this.call && this.queue.length < this.prefetch) {
        this.paused = false;
        this.call.resume();
        this.armIdle();
      }
      return Promise.resolve({ value: batch, done: false });
    }
    if (this.finished) {
      if (this.failure !== null) {
        const err = this.failure;
        this.failure = null; // report once, then behave as ended
        return Promise.reject(err as Error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.waiter)
      return Promise.reject(new DistrainError('batch stream: next() called while another next() is pending'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<DataBatch>> {
    this.cancel();
    return Promise.resolve({ value: undefined, done: true });
  }

  cancel(): void {
    if (this.finished && this.queue.length === 0) return;
    this.queue.length = 0;
    this.shutdown();
    this.settle();
  }

  [Symbol.asyncIterator](): BatchStream {
    return this;
  }
}

/**
 * Streams rank `request.rank`'s slices of one epoch of one split from a data-loader, as an async
 * iterator. Up to `prefetch` batches are decoded ahead (the gRPC stream is paused while they wait),
 * so the network overlaps the consumer's compute. On UNAVAILABLE, a broken stream or an idle
 * timeout it reopens the stream from the next undelivered step (`start_step`) with jittered
 * backoff (at most `maxBackoffMs`) for up to `retryBudgetMs` without a batch (a data-loader restart
 * or outage), then rejects `next()` with an UnavailableError "data-loader at ADDR unreachable";
 * other errors (INVALID_ARGUMENT, ...) reject `next()` as the grpc-js ServiceError. Breaking out of a `for await` loop (or `cancel()`) cancels the call.
 */
export function streamBatches(
  client: DataLoaderServiceClient,
  request: StreamBatchesRequest,
  options: BatchStreamOptions = {},
): BatchStream {
  return new BatchStreamImpl(client, request, options);
}
