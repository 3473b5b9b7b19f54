import { status as GrpcStatus, Metadata } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { Dealer } from 'zeromq';
import { sleep } from '../retry.ts';

/**
 * The parameter server's tensor data plane on ZeroMQ (ps-lite's transport), carrying exactly the
 * protobuf bytes of the gRPC PushPull and Pull messages.
 *
 * Frames, client (DEALER) to shard (ROUTER), which prepends the client's identity:
 *   [method ('PushPull' | 'Pull'), request id, token (the job credential, may be empty),
 *    timeout ms (decimal: the shard's wait deadline), body]
 * and back: [request id, status (decimal gRPC status code, '0' = OK), body | error details (utf8)].
 * A body is 5 padding bytes then the protobuf message: the hand-written encoders place tensor data
 * where `5 + offset` is 4-byte aligned (as in a gRPC frame), so the receiver can view float32 data
 * in place when the frame buffer itself is aligned.
 *
 * Requests are matched to replies by id, so any number may be in flight on one socket. Each has a
 * deadline (DEADLINE_EXCEEDED); a closed channel fails its calls with UNAVAILABLE. ZeroMQ
 * reconnects by itself (a restarted shard on the same address): a request lost with the old shard
 * ends at its deadline and the caller's retry (PushPull is idempotent) reaches the new one.
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

interface Pending {
  resolve(body: Buffer): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Options of {@link ZmqChannel.connect}. */
export interface ZmqChannelOptions {
  /** The job credential sent in every request. @default '' */
  token?: string;
}

/** One client connection to a shard's data plane (a DEALER socket). */
export class ZmqChannel {
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private closed = false;
  /** Sends in order: zeromq.js allows one send in progress per socket. */
  private sendChain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly socket: Dealer,
    readonly endpoint: string,
    private readonly token: string,
  ) {
    void this.receiveLoop();
  }

  /** Connects to `tcp://host:port` (loads the zeromq addon on first use only). */
  static async connect(endpoint: string, options: ZmqChannelOptions = {}): Promise<ZmqChannel> {
    const zmq = await import('zeromq');
    const socket = new zmq.Dealer({ linger: 0, reconnectInterval: 100, reconnectMaxInterval: 1_000 });
    socket.connect(endpoint);
    return new ZmqChannel(socket, endpoint, options.token ?? '');
  }

  /**
   * Sends `body` (5 padding bytes then the message; owned by the channel from now on: ZeroMQ may
   * send it without copying) and resolves with the reply's message bytes (padding removed).
   */
  request(method: DataPlaneMethod, body: Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.closed)
      return Promise.reject(dataPlaneError(GrpcStatus.UNAVAILABLE, 'data-plane channel closed'));
    const id = String(this.nextId++);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          dataPlaneError(
            GrpcStatus.DEADLINE_EXCEEDED,
            `${method} to ${this.endpoint}: no reply in ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const frames = [method, id, this.token, String(Math.max(1, Math.round(timeoutMs))), body];
      this.sendChain = this.sendChain
        .then(() => this.socket.send(frames))
        .catch((err: unknown) => {
          const p = this.pending.get(id);
          if (!p) return;
          this.pending.delete(id);
          clearTimeout(p.timer);
          p.reject(dataPlaneError(GrpcStatus.UNAVAILABLE, `send to ${this.endpoint} failed: ${String(err)}`));
        });
    });
  }

  /** Fails every call in flight with UNAVAILABLE and closes the socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(dataPlaneError(GrpcStatus.UNAVAILABLE, 'data-plane channel closed'));
    }
    this.socket.close();
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const frames of this.socket) {
        const [idFrame, statusFrame, body] = frames;
        if (!idFrame || !statusFrame || !body) continue;
        const id = idFrame.toString();
        const p = this.pending.get(id);
        if (!p) continue; // a reply after its deadline
        this.pending.delete(id);
        clearTimeout(p.timer);
        const code = Number(statusFrame.toString());
        if (code === 0) p.resolve(body.subarray(DATA_PLANE_PAD_BYTES));
        else p.reject(dataPlaneError(code as GrpcStatus, body.toString('utf8')));
      }
    } catch (err) {
      if (!this.closed) {
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          clearTimeout(p.timer);
          p.reject(dataPlaneError(GrpcStatus.UNAVAILABLE, `data-plane receive failed: ${String(err)}`));
        }
      }
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
