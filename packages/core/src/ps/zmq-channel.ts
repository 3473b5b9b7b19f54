import { status as GrpcStatus, Metadata } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type * as Zmq from 'zeromq';
import type { Dealer } from 'zeromq';
import { sleep } from '../retry.ts';

/**
 * The parameter server's tensor data plane on ZeroMQ (ps-lite's transport), carrying the protobuf
 * messages of the gRPC PushPull and Pull calls.
 *
 * Frames, client (DEALER) to shard (ROUTER), which prepends the client's identity:
 *   [method ('PushPull' | 'Pull' | 'ExchangeStats'), request id, token (the job credential, may be
 *    empty), timeout ms (decimal: the shard's wait deadline), body, data...]
 * and back: [request id, status (decimal gRPC status code, '0' = OK), body | error details (utf8),
 * data...]. A body is 5 padding bytes then the protobuf message.
 *
 * Two forms of a message, chosen by the sender (the shard answers a request in the form it came in):
 * - inline: no data frames; the body holds the whole message, tensor data included (placed where
 *   `5 + offset` is 4-byte aligned, as in a gRPC frame, so it can be viewed in place);
 * - zero copy (PushPull): the body is the message with every tensor's `data` left empty, and one data
 *   frame per tensor follows, in message order (grads then states; params): the float32 bytes
 *   themselves. ZeroMQ sends a frame of more than 128 bytes straight from the sender's memory (no
 *   copy; zeromq.js keeps a reference until its I/O thread has written it) and hands a large received
 *   frame over as a buffer of its own (8-byte aligned), so floats are read in place. The sender must
 *   leave the memory unchanged until the reply has arrived (the peer has then received every byte).
 *
 * Requests are matched to replies by id, so any number may be in flight on one socket. Each has a
 * deadline (DEADLINE_EXCEEDED); a closed channel fails its calls with UNAVAILABLE. ZeroMQ reconnects
 * by itself (a restarted shard on the same address). A deadline replaces the socket (the old one is
 * closed with linger 0, which discards what it still queues): a request lost with a shard is never
 * delivered later from ZeroMQ's queue, when its memory may already hold the next step; the caller's
 * retry (PushPull is idempotent) goes out on the new socket.
 */
export const DATA_PLANE_PAD_BYTES = 5;

/** The methods the data plane carries. */
export type DataPlaneMethod = 'PushPull' | 'Pull' | 'ExchangeStats';

/** An error shaped like a grpc-js ServiceError, so callers retry and report it the same way. */
export function dataPlaneError(code: GrpcStatus, details: string): ServiceError {
  const name = (GrpcStatus as unknown as Record<number, string>)[code] ?? String(code);
  return Object.assign(new Error(`${code} ${name}: ${details}`), {
    code,
    details,
    metadata: new Metadata(),
  }) as ServiceError;
}

/** A reply's frames after the status: the body (padding removed) and the data frames, if any. */
export interface DataPlaneReply {
  body: Buffer;
  data: Buffer[];
}

interface Pending {
  resolve(reply: DataPlaneReply): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

type ZmqModule = typeof Zmq;

/** Options of {@link ZmqChannel.connect}. */
export interface ZmqChannelOptions {
  /** The job credential sent in every request. @default '' */
  token?: string;
}

const NO_DATA: readonly Buffer[] = Object.freeze([]);

/** One client connection to a shard's data plane (a DEALER socket, replaced after a deadline). */
export class ZmqChannel {
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private closed = false;
  private socket: Dealer;
  /** Sends in order: zeromq.js allows one send in progress per socket. */
  private sendChain: Promise<void> = Promise.resolve();
  /** Sends queued on {@link sendChain} and not finished. */
  private sending = 0;

  private constructor(
    private readonly zmq: ZmqModule,
    readonly endpoint: string,
    private readonly token: string,
  ) {
    this.socket = this.open();
  }

  /** Connects to `tcp://host:port` or `ipc://path` (loads the zeromq addon on first use only). */
  static async connect(endpoint: string, options: ZmqChannelOptions = {}): Promise<ZmqChannel> {
    const zmq = await import('zeromq');
    return new ZmqChannel(zmq, endpoint, options.token ?? '');
  }

  private open(): Dealer {
    const socket = new this.zmq.Dealer({ linger: 0, reconnectInterval: 100, reconnectMaxInterval: 1_000 });
    socket.connect(this.endpoint);
    void this.receiveLoop(socket);
    return socket;
  }

  /**
   * Sends `body` (5 padding bytes then the message) and resolves with the reply's message bytes
   * (padding removed). `body` belongs to the channel from now on: ZeroMQ may send it without copying.
   */
  async request(method: DataPlaneMethod, body: Buffer, timeoutMs: number): Promise<Buffer> {
    return (await this.requestFrames(method, body, NO_DATA, timeoutMs)).body;
  }

  /**
   * Sends `body` and the `data` frames (the zero-copy form) and resolves with the reply's body and
   * data frames. The caller must leave the memory of `body` and `data` unchanged until the returned
   * promise settles (a deadline discards what was not sent yet, see the class comment).
   */
  requestFrames(
    method: DataPlaneMethod,
    body: Buffer,
    data: readonly Buffer[],
    timeoutMs: number,
  ): Promise<DataPlaneReply> {
    if (this.closed)
      return Promise.reject(dataPlaneError(GrpcStatus.UNAVAILABLE, 'data-plane channel closed'));
    const id = String(this.nextId++);
    return new Promise<DataPlaneReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        reject(
          dataPlaneError(
            GrpcStatus.DEADLINE_EXCEEDED,
            `${method} to ${this.endpoint}: no reply in ${timeoutMs} ms`,
          ),
        );
        this.replaceSocket();
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const frames: (Buffer | string)[] = [
        method,
        id,
        this.token,
        String(Math.max(1, Math.round(timeoutMs))),
        body,
        ...data,
      ];
      const send = (): Promise<void> | undefined =>
        this.pending.has(id) ? this.socket.send(frames) : undefined;
      // Nothing queued: the frames go to ZeroMQ now, inside this call (a promise's executor runs at
      // once), and its I/O thread sends them while the caller goes on; through the chain they would
      // wait for the caller's next await, which for a trainer is after the next step's compute.
      const queued = this.sending++ > 0;
      this.sendChain = (queued ? this.sendChain.then(send) : new Promise<void>((resolve) => resolve(send())))
        .catch((err: unknown) => {
          const p = this.pending.get(id);
          if (!p) return;
          this.pending.delete(id);
          clearTimeout(p.timer);
          p.reject(dataPlaneError(GrpcStatus.UNAVAILABLE, `send to ${this.endpoint} failed: ${String(err)}`));
        })
        .finally(() => {
          this.sending--;
        });
    });
  }

  /** Fails every call in flight with UNAVAILABLE and closes the socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll('data-plane channel closed');
    this.socket.close();
  }

  /**
   * After a deadline: a new socket for later calls; the old one is closed with linger 0, so its
   * queued requests are dropped (their memory is the caller's again) and the calls still waiting on
   * it fail with UNAVAILABLE (retryable: they are idempotent).
   */
  private replaceSocket(): void {
    if (this.closed) return;
    const old = this.socket;
    this.failAll(`data-plane socket to ${this.endpoint} replaced after a deadline`);
    this.socket = this.open();
    old.close();
  }

  private failAll(details: string): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(dataPlaneError(GrpcStatus.UNAVAILABLE, details));
    }
  }

  private async receiveLoop(socket: Dealer): Promise<void> {
    try {
      for await (const frames of socket) {
        const [idFrame, statusFrame, body] = frames;
        if (!idFrame || !statusFrame || !body) continue;
        const id = idFrame.toString();
        const p = this.pending.get(id);
        if (!p) continue; // a reply after its deadline
        this.pending.delete(id);
        clearTimeout(p.timer);
        const code = Number(statusFrame.toString());
        if (code === 0)
          p.resolve({
            body: body.subarray(DATA_PLANE_PAD_BYTES),
            data: frames.length > 3 ? frames.slice(3) : (NO_DATA as Buffer[]),
          });
        else p.reject(dataPlaneError(code as GrpcStatus, body.toString('utf8')));
      }
    } catch (err) {
      if (!this.closed && socket === this.socket) this.failAll(`data-plane receive failed: ${String(err)}`);
    }
  }
}

/** Retries `call` on UNAVAILABLE / DEADLINE_EXCEEDED up to `retries` times, full-jitter backoff. */
export async function withRetries<T>(call: () => Promise<T>, retries: number, backoffMs = 100): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (attempt >= retries || (code !== GrpcStatus.UNAVAILABLE && code !== GrpcStatus.DEADLINE_EXCEEDED))
        throw err;
      await sleep(Math.random() * backoffMs * 2 ** attempt);
    }
  }
}
