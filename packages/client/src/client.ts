import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metadata, loadPackageDefinition, status as GrpcStatus } from '@grpc/grpc-js';
import type { CallOptions as GrpcCallOptions, ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type {
  Job__Output,
  JobEvent__Output,
  JobServiceClient,
  JobState__Output as JobState,
  TrainingJob,
} from '@distrain/core';
import { fromServiceError, isServiceError } from './errors.ts';
import { compileClientOptions } from './options.ts';
import type { ClientOptions, CompiledClientOptions } from './options.ts';
import { parsePredictionRows } from './predictions.ts';
import type { PredictionRow } from './predictions.ts';
import type { TrainingJobInput, WatchEvent } from './events.ts';

/** The wire contract: the repository's `proto/` folder (the client loads only the JobService). */
const PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));

/** Per-call options. */
export interface CallOptions {
  /** Deadline of this call, in ms. @default the client's `timeoutMs` (`downloadTimeoutMs` for downloads) */
  timeoutMs?: number;
  /** Aborts the call; it then rejects with a `CancelledError`. */
  signal?: AbortSignal;
}

/** Options of {@link DistrainClient.watch}. */
export interface WatchOptions {
  /** Reconnect attempts in a row when the stream breaks (coordinator restart). @default 30 */
  reconnects?: number;
  /** First wait before reconnecting, in ms, growing linearly to 5 s. @default 500 */
  reconnectDelayMs?: number;
  /** Events at or below this sequence are skipped (resume a watch). @default 0 */
  afterSequence?: number;
  /** Called before each reconnect with the attempt number and the error. */
  onReconnect?: (attempt: number, error: Error) => void;
  /** Stops the watch; the iterator then ends without error. */
  signal?: AbortSignal;
}

/** States after which a job never changes. */
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set([
  'JOB_STATE_SUCCEEDED',
  'JOB_STATE_FAILED',
  'JOB_STATE_CANCELLED',
]);

type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: GrpcCallOptions,
  callback: (err: ServiceError | null, value?: Res) => void,
) => unknown;

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * A grpc-js server stream as an async iterable. Not `for await (... of call)`: grpc-js emits
 * 'error' and then 'end', and Node's stream iterator can then wait forever instead of throwing.
 */
async function* messages<M>(call: ClientReadableStream<M>): AsyncGenerator<M, void, undefined> {
  const queue: M[] = [];
  let done = false;
  let failure: { err: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  call.on('data', (m: M) => {
    queue.push(m);
    if (queue.length >= 64) call.pause();
    notify();
  });
  call.on('error', (err: unknown) => {
    failure ??= { err };
    notify();
  });
  call.on('end', () => {
    done = true;
    notify();
  });
  for (;;) {
    const m = queue.shift();
    if (m !== undefined) {
      if (queue.length < 16 && call.isPaused()) call.resume();
      yield m;
      continue;
    }
    if (failure) throw failure.err;
    if (done) return;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}

function loadJobService(): new (
  address: string,
  credentials: CompiledClientOptions['credentials'],
  options: object,
) => JobServiceClient {
  const def = loadSync(['distrain/v1/coordinator.proto'], {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [PROTO_DIR],
  });
  const root = loadPackageDefinition(def) as unknown as {
    distrain: { v1: { JobService: new (...args: never[]) => JobServiceClient } };
  };
  return root.distrain.v1.JobService as never;
}

/**
 * A typed client of the coordinator's JobService.
 *
 * Every call has a deadline; idempotent calls (get, list, cancel) retry on UNAVAILABLE and
 * DEADLINE_EXCEEDED with jittered backoff; failures reject with the typed errors of `errors.ts`
 * (`JobNotFoundError`, `InvalidArgumentError`, ...). It never loads TensorFlow.js.
 *
 * @example
 * const client = new DistrainClient({ address: '127.0.0.1:7070' });
 * const job = await client.submit(readFileSync('examples/mnist-mlp.yaml', 'utf8'));
 * for await (const e of client.watch(job.id)) if (e.event === 'epoch') console.log(e.epoch.testAccuracy);
 * client.close();
 */
export class DistrainClient {
  /** The compiled options (defaults applied). */
  readonly options: CompiledClientOptions;
  readonly #grpc: JobServiceClient;

  constructor(options: ClientOptions = {}) {
    this.options = compileClientOptions(options);
    const Client = loadJobService();
    this.#grpc = new Client(this.options.address, this.options.credentials, {
      'grpc.max_receive_message_length': this.options.maxMessageBytes,
      'grpc.max_send_message_length': this.options.maxMessageBytes,
      ...(this.options.serverName ? { 'grpc.ssl_target_name_override': this.options.serverName } : {}),
    });
  }

  /** Closes the channel; calls in flight fail. */
  close(): void {
    this.#grpc.close();
  }

  /**
   * Submits a TrainingJob: an object, or YAML / JSON text. The coordinator validates it (an
   * `InvalidArgumentError` names the field) and answers with the queued job. Not retried.
   */
  async submit(
    spec: TrainingJobInput | TrainingJob | string,
    options: CallOptions = {},
  ): Promise<Job__Output> {
    const text = typeof spec === 'string' ? spec : JSON.stringify(spec);
    const res = await this.#unary('SubmitJob', this.#grpc.submitJob, { spec: text }, options, 0);
    return res.job as Job__Output;
  }

  /** The job record (state, progress, epochs). Rejects with `JobNotFoundError` for an unknown id. */
  async get(id: string, options: CallOptions = {}): Promise<Job__Output> {
    const res = await this.#unary('GetJob', this.#grpc.getJob, { id }, options, this.options.retries, id);
    return res.job as Job__Output;
  }

  /** Every job the coordinator knows (gRPC submissions and TrainingJob resources), optionally of one state. */
  async list(filter: { state?: JobState } = {}, options: CallOptions = {}): Promise<Job__Output[]> {
    const res = await this.#unary(
      'ListJobs',
      this.#grpc.listJobs,
      { state: filter.state ?? 'JOB_STATE_UNSPECIFIED' },
      options,
      this.options.retries,
    );
    return res.jobs;
  }

  /** Stops a job and answers with its record; idempotent on an ended job. */
  async cancel(id: string, reason = 'cancelled by user', options: CallOptions = {}): Promise<Job__Output> {
    const res = await this.#unary(
      'CancelJob',
      this.#grpc.cancelJob,
      { id, reason },
      options,
      this.options.retries,
      id,
    );
    return res.job as Job__Output;
  }

  /**
   * The job's events: its history, then live events, ending after the terminal state event. When
   * the stream breaks (a coordinator restart) it reconnects and skips events already seen, by
   * sequence, so each event comes once and in order.
   */
  async *watch(id: string, options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
    let lastSeq = options.afterSequence ?? 0;
    let failures = 0;
    const maxReconnects = options.reconnects ?? 30;
    const delay = options.reconnectDelayMs ?? 500;
    for (;;) {
      if (options.signal?.aborted) return;
      const call = this.#grpc.watchJob({ id }, this.#metadata());
      const abort = (): void => call.cancel();
      options.signal?.addEventListener('abort', abort, { once: true });
      let broken: Error | undefined;
      try {
        for await (const raw of messages<JobEvent__Output>(call)) {
          failures = 0;
          if (raw.sequence <= lastSeq) continue;
          lastSeq = raw.sequence;
          const e = raw as WatchEvent;
          yield e;
          if (e.event === 'state' && TERMINAL_STATES.has(e.state.state)) return;
        }
      } catch (err) {
        if (options.signal?.aborted) return;
        if (!isServiceError(err) || err.code !== GrpcStatus.UNAVAILABLE)
          throw fromServiceError(err, 'WatchJob', id);
        broken = err;
      } finally {
        options.signal?.removeEventListener('abort', abort);
        call.cancel();
      }
      // A clean end without a terminal event: the history may have been trimmed; ask the record.
      if (!broken) {
        const job = await this.get(id, options.signal ? { signal: options.signal } : {});
        if (TERMINAL_STATES.has(job.state)) return;
        broken = new Error('the event stream ended before the job did');
      }
      if (++failures > maxReconnects) throw fromServiceError(broken, 'WatchJob', id);
      options.onReconnect?.(failures, broken);
      await sleep(Math.min(delay * failures, 5_000), options.signal);
    }
  }

  /**
   * Follows a job to its end ({@link watch}, reconnecting as needed) and returns the final record.
   * `onEvent` sees each event once.
   */
  async waitForEnd(
    id: string,
    options: WatchOptions & { onEvent?: (e: WatchEvent) => void } = {},
  ): Promise<Job__Output> {
    for await (const e of this.watch(id, options)) options.onEvent?.(e);
    // The stream ends with the terminal state; the record may lag it by a moment.
    for (let i = 0; ; i++) {
      const job = await this.get(id);
      if (TERMINAL_STATES.has(job.state) || i >= 20 || options.signal?.aborted) return job;
      await sleep(250, options.signal);
    }
  }

  /** The newest epoch's test-set predictions as raw CSV chunks (`index,label,predicted,p0,...`). */
  async *predictionsCsv(id: string, options: CallOptions = {}): AsyncGenerator<Buffer, void, undefined> {
    const call = this.#grpc.getPredictions({ id }, this.#metadata(), {
      deadline: Date.now() + (options.timeoutMs ?? this.options.downloadTimeoutMs),
    });
    yield* this.#drain(call, 'GetPredictions', id, options.signal, (c: { data: Buffer }) => c.data);
  }

  /** The newest epoch's test-set predictions, one typed row per test sample, in dataset order. */
  predictions(id: string, options: CallOptions = {}): AsyncGenerator<PredictionRow, void, undefined> {
    return parsePredictionRows(this.predictionsCsv(id, options));
  }

  /**
   * Downloads the trained model (TensorFlow.js layers format: `model.json` + `weights.bin`) into
   * `dir` (created if missing) and returns the paths written. The coordinator builds the files; the
   * client only writes them.
   */
  async exportModel(id: string, dir: string, options: CallOptions = {}): Promise<string[]> {
    const call = this.#grpc.exportModel({ id }, this.#metadata(), {
      deadline: Date.now() + (options.timeoutMs ?? this.options.downloadTimeoutMs),
    });
    const files = new Map<string, Buffer[]>();
    for await (const f of this.#drain(
      call,
      'ExportModel',
      id,
      options.signal,
      (m: { name: string; data: Buffer }) => m,
    )) {
      if (f.name === '' || f.name.includes('/') || f.name.includes('\\') || f.name.startsWith('.'))
        throw new Error(
          `ExportModel ${id}: the coordinator sent an unsafe file name ${JSON.stringify(f.name)}`,
        );
      const parts = files.get(f.name) ?? [];
      parts.push(f.data);
      files.set(f.name, parts);
    }
    await mkdir(dir, { recursive: true });
    const written: string[] = [];
    for (const [name, parts] of files) {
      const path = join(dir, name);
      await writeFile(path, Buffer.concat(parts));
      written.push(path);
    }
    return written;
  }

  async *#drain<M, T>(
    call: ClientReadableStream<M>,
    method: string,
    id: string,
    signal: AbortSignal | undefined,
    pick: (m: M) => T,
  ): AsyncGenerator<T, void, undefined> {
    const abort = (): void => call.cancel();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      for await (const m of messages(call)) yield pick(m);
    } catch (err) {
      throw fromServiceError(err, method, id);
    } finally {
      signal?.removeEventListener('abort', abort);
      call.cancel();
    }
  }

  #metadata(): Metadata {
    const md = new Metadata();
    if (this.options.token) md.set('authorization', `Bearer ${this.options.token}`);
    return md;
  }

  async #unary<Req, Res>(
    method: string,
    fn: (request: Req, callback: (err: ServiceError | null, value?: Res) => void) => unknown,
    request: Req,
    options: CallOptions,
    retries: number,
    jobId?: string,
  ): Promise<Res> {
    // Typed by the generated client's last overload (request, callback), called with metadata and options.
    const full = fn as unknown as Unary<Req, Res>;
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    let backoff = 100;
    for (let attempt = 0; ; attempt++) {
      try {
        return await new Promise<Res>((resolve, reject) => {
          const c = full.call(
            this.#grpc,
            request,
            this.#metadata(),
            { deadline: Date.now() + timeoutMs },
            (err, value) => (err ? reject(err) : resolve(value as Res)),
          ) as { cancel(): void };
          if (options.signal?.aborted) c.cancel();
          else options.signal?.addEventListener('abort', () => c.cancel(), { once: true });
        });
      } catch (err) {
        const retryable =
          isServiceError(err) &&
          (err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.DEADLINE_EXCEEDED);
        if (attempt >= retries || !retryable || options.signal?.aborted)
          throw fromServiceError(err, method, jobId);
        await sleep(Math.random() * backoff, options.signal);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }
}
