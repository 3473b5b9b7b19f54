import { status as GrpcStatus } from '@grpc/grpc-js';
import { ValidationError, clip, distrainProto, toGrpcStatus } from '@distrain/core';
import {
  DATA_PLANE_PAD_BYTES,
  decodePushPullRequest,
  encodePullResponse,
  encodePushPullResponse,
  fillTensorData,
  splitTensorData,
} from '@distrain/core/ps';
import type { Authenticator, Logger, NamedTensor } from '@distrain/core';
import { FrameCollector } from '@distrain/core/service';
import type {
  ExchangeStatsRequest__Output,
  PsObserver,
  PullRequest__Output,
  PullResponse,
  PushPullResponse,
} from '@distrain/core/ps';
import { reasonOf } from './grpc-handlers.ts';
import type { ParameterServerService } from './ps-service.ts';
import type { CallContext } from './wait.ts';

/** A running data plane. */
export interface RunningDataPlane {
  port: number;
  /** Sends the replies already queued (e.g. ABORTED after the service closed), then closes. */
  close(): Promise<void>;
}

/** Options of {@link startZmqDataPlane}. */
export interface ZmqDataPlaneOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  logger: Logger;
  observer: PsObserver;
  /** Longest wait of a request whose timeout frame is missing or bad. */
  maxWaitMs: number;
  /** Checks the token frame: the job credential of the request's job. @default none: not checked */
  authenticator?: Authenticator;
}

/**
 * Serves PushPull, Pull and ExchangeStats of `service` on a ZeroMQ ROUTER socket (frames in
 * `packages/core/src/ps/zmq-channel.ts`), with the same message bytes and the same errors as the
 * gRPC handlers. Requests run concurrently (a push waits at the barrier while others arrive);
 * replies are queued in order because zeromq.js allows one send in progress per socket. The token
 * frame must be the job credential of the request's job (as the gRPC `authorization` metadata):
 * missing or forged: UNAUTHENTICATED, another job's: PERMISSION_DENIED.
 */
export async function startZmqDataPlane(
  service: ParameterServerService,
  options: ZmqDataPlaneOptions,
): Promise<RunningDataPlane> {
  const zmq = await import('zeromq');
  // linger: queued replies still go out for a moment after close (the ABORTED of a shutdown).
  const router = new zmq.Router({ linger: 500, sendHighWaterMark: 0 });
  const host =
    options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  await router.bind(`tcp://${host}:${options.port === 0 ? '*' : options.port}`);
  const port = Number(/:(\d+)$/.exec(router.lastEndpoint ?? '')?.[1]);
  const pullDef = distrainProto().ParameterServerService.service.Pull;
  const statsDef = distrainProto().ParameterServerService.service.ExchangeStats;
  let sendChain: Promise<void> = Promise.resolve();
  // A response's params split for the zero-copy form, per params list (a job's list of live views
  // lives as long as its parts; snapshots have their own).
  const split = new WeakMap<readonly NamedTensor[], ReturnType<typeof splitTensorData>>();
  const splitOf = (params: readonly NamedTensor[]): ReturnType<typeof splitTensorData> => {
    let s = split.get(params);
    if (!s) {
      s = splitTensorData(params);
      split.set(params, s);
    }
    return s;
  };
  const reply = (frames: (Buffer | string)[]): void => {
    sendChain = sendChain
      .then(() => router.send(frames))
      .catch((err: unknown) => options.logger.warn({ err }, 'data-plane reply not sent'));
  };
  let closed = false;
  // Received frames are freed by a young-generation collection between steps (heap-tuning.ts).
  const collector = new FrameCollector();
  const handle = async (
    identity: Buffer,
    method: string,
    id: Buffer,
    token: string,
    timeout: string,
    body: Buffer,
    data: Buffer[],
  ) => {
    const ms = Number(timeout);
    // Every request carries its deadline (ms); a huge one waits at most maxWaitMs.
    const ctx: CallContext = { deadlineMs: Date.now() + Math.min(ms > 0 ? ms : 0, options.maxWaitMs) };
    let encoded: Buffer | undefined;
    let dataFrames: readonly Buffer[] = NO_FRAMES;
    try {
      if (!(ms > 0) || body.length < DATA_PLANE_PAD_BYTES)
        throw new ValidationError(
          ms > 0 ? 'body' : 'timeout',
          ms > 0
            ? `must start with ${DATA_PLANE_PAD_BYTES} padding bytes`
            : `frame must be the call's timeout in milliseconds (> 0), got "${clip(timeout, 40)}"`,
        );
      const message = body.subarray(DATA_PLANE_PAD_BYTES);
      if (data.length > 0 && (method === 'Pull' || method === 'ExchangeStats'))
        throw new ValidationError(
          'data frames',
          `${clip(method, 64)} takes none (only PushPull has data frames)`,
        );
      if (method === 'PushPull') {
        const req = decodePushPullRequest(message);
        options.authenticator?.checkJob(token, req.jobId);
        fillTensorData(
          [
            { field: 'grads', list: req.grads },
            { field: 'states', list: req.states },
          ],
          data,
        );
        const res = await service.pushPull(req, ctx);
        if (data.length > 0) {
          // Zero copy both ways: the reply's data frames view the shard's live parameters. No step
          // can change them before every rank of this step has received them: the next step is
          // applied only once every member has pushed it, which each does after this reply
          // arrived (ZeroMQ delivers a peer's replies in order, a repeat's too).
          const { headers, frames } = splitOf(res.params ?? []);
          encoded = encodeWithPad(
            (b) => encodePushPullResponse({ ...res, params: headers }, b),
            paramsBytes({ params: headers }),
          );
          dataFrames = frames;
        } else encoded = encodeWithPad((b) => encodePushPullResponse(res, b), paramsBytes(res));
      } else if (method === 'Pull') {
        let req: PullRequest__Output;
        try {
          req = pullDef.requestDeserialize(message) as PullRequest__Output;
        } catch (err) {
          throw new ValidationError('body', `is not a PullRequest: ${clip((err as Error).message)}`);
        }
        options.authenticator?.checkJob(token, req.jobId);
        const res = await service.pull(req, ctx);
        encoded = encodeWithPad((b) => encodePullResponse(res, b), paramsBytes(res));
      } else if (method === 'ExchangeStats') {
        // Synchronized batch norm's all-gather (small vectors): protobufjs both ways.
        let req: ExchangeStatsRequest__Output;
        try {
          req = statsDef.requestDeserialize(message) as ExchangeStatsRequest__Output;
        } catch (err) {
          throw new ValidationError(
            'body',
            `is not an ExchangeStatsRequest: ${clip((err as Error).message)}`,
          );
        }
        options.authenticator?.checkJob(token, req.jobId);
        const res = await service.exchangeStats(req, ctx);
        encoded = Buffer.concat([Buffer.alloc(DATA_PLANE_PAD_BYTES), statsDef.responseSerialize(res)]);
      } else {
        throw Object.assign(new Error(`unknown data-plane method "${clip(method, 64)}"`), {
          grpcCode: GrpcStatus.UNIMPLEMENTED,
        });
      }
    } catch (err) {
      const unimplemented = (err as { grpcCode?: number }).grpcCode === GrpcStatus.UNIMPLEMENTED;
      const st: { code: GrpcStatus; details: string; reason?: string } = unimplemented
        ? { code: GrpcStatus.UNIMPLEMENTED, details: clip((err as Error).message) }
        : toGrpcStatus(err, (e) => options.logger.error({ err: e }, 'internal error'));
      options.observer.onRejected(st.reason ?? reasonOf(st.code));
      if (!closed) reply([identity, id, String(st.code), st.details]);
      return;
    }
    if (!closed)
      reply(
        dataFrames.length > 0 ? [identity, id, '0', encoded, ...dataFrames] : [identity, id, '0', encoded],
      );
    if (method === 'PushPull') collector.idle();
  };
  void (async () => {
    try {
      for await (const frames of router) {
        const [identity, method, id, token, timeout, body] = frames;
        if (!identity || !method || !id || !timeout || !body) {
          options.logger.warn({ frames: frames.length }, 'data-plane request with missing frames dropped');
          continue;
        }
        const data = frames.length > 6 ? frames.slice(6) : (NO_FRAMES as Buffer[]);
        let bytes = body.length;
        for (const f of data) bytes += f.length;
        collector.received(bytes);
        void handle(identity, method.toString(), id, token?.toString() ?? '', timeout.toString(), body, data);
      }
    } catch (err) {
      if (!closed) options.logger.error({ err }, 'data-plane receive loop ended');
    }
  })();
  options.logger.info({ port }, 'data plane (zmq) listening');
  return {
    port,
    close: async () => {
      // Replies of calls that just ended (service.close() aborts them) are queued in microtasks.
      await new Promise((r) => setImmediate(r));
      closed = true;
      await sendChain;
      router.close();
    },
  };
}

const NO_FRAMES: readonly Buffer[] = Object.freeze([]);

/** Encodes into a fresh buffer after the padding (ZeroMQ may send it without copying: never reused). */
function encodeWithPad(encode: (into: Buffer) => Buffer | undefined, bytes: number): Buffer {
  const buf = Buffer.allocUnsafe(DATA_PLANE_PAD_BYTES + bytes);
  buf.fill(0, 0, DATA_PLANE_PAD_BYTES);
  const out = encode(buf.subarray(DATA_PLANE_PAD_BYTES));
  if (!out) throw new Error('data-plane response could not be encoded');
  if (out.buffer !== buf.buffer || out.byteOffset !== buf.byteOffset + DATA_PLANE_PAD_BYTES) {
    // The estimate was short: the encoder allocated its own buffer.
    return Buffer.concat([Buffer.alloc(DATA_PLANE_PAD_BYTES), out]);
  }
  return buf.subarray(0, DATA_PLANE_PAD_BYTES + out.length);
}

/** An upper bound of a response's encoded size. */
function paramsBytes(res: PushPullResponse | PullResponse): number {
  let n = 64;
  for (const nt of res.params ?? []) {
    const d = nt.tensor?.data;
    n += 64 + (nt.name?.length ?? 0) * 3 + (d instanceof Uint8Array ? d.byteLength : 0);
  }
  return n;
}
