import { status as GrpcStatus } from '@grpc/grpc-js';
import { ValidationError, isServiceError } from '../errors.ts';
import type { ExchangeStatsRequest } from '../generated/distrain/v1/ExchangeStatsRequest.ts';
import type { ExchangeStatsResponse__Output } from '../generated/distrain/v1/ExchangeStatsResponse.ts';
import type { ParameterServerServiceClient } from '../generated/distrain/v1/ParameterServerService.ts';
import { unary } from '../grpc-client.ts';
import { distrainProto, parameterServerClient } from '../proto.ts';
import { hostOf } from './data-plane-requests.ts';
import { DATA_PLANE_PAD_BYTES, ZmqChannel, withRetries } from './zmq-channel.ts';

/** Options of {@link StatExchangeClient}. */
export interface StatExchangeClientOptions {
  jobId: string;
  /** This trainer's rank. */
  rank: number;
  /** host:port (gRPC) of shard 0, the shard that serves `ExchangeStats`. */
  address: string;
  /** `zmq`: over shard 0's ZeroMQ data plane when it has one (else gRPC); `grpc`: gRPC. @default 'zmq' */
  dataPlane?: 'zmq' | 'grpc';
  /** The job credential (data-plane token frame). @default '' */
  token?: string;
  /** Deadline of one attempt, ms (the other ranks may still be computing). @default 60000 */
  timeoutMs?: number;
  /** Retries after DEADLINE_EXCEEDED / UNAVAILABLE (the call is idempotent). @default 20 */
  retries?: number;
  /** Stops the gRPC retries (the worker's shutdown). */
  signal?: AbortSignal;
}

/**
 * Synchronized batch norm's all-gather through shard 0 of the parameter server (`ExchangeStats`, over
 * its ZeroMQ data plane or gRPC): implements the model area's `StatExchange` (`allGather(step, slot,
 * values)` -> every live rank's vector, in rank order).
 */
export class StatExchangeClient {
  private readonly client: ParameterServerServiceClient;
  private channel: Promise<ZmqChannel | undefined> | undefined;
  private closed = false;

  constructor(private readonly options: StatExchangeClientOptions) {
    if (!options.jobId) throw new ValidationError('jobId', 'must not be empty');
    if (!options.address) throw new ValidationError('address', 'needs the address of shard 0');
    this.client = parameterServerClient(options.address);
  }

  async allGather(step: number, slot: number, values: Float64Array): Promise<Float64Array[]> {
    const req: ExchangeStatsRequest = {
      jobId: this.options.jobId,
      rank: this.options.rank,
      step,
      slot,
      values: [...values],
    };
    const timeoutMs = this.options.timeoutMs ?? 60_000;
    const retries = this.options.retries ?? 20;
    const channel = await this.dataChannel();
    let res: ExchangeStatsResponse__Output;
    if (channel !== undefined) {
      const def = distrainProto().ParameterServerService.service.ExchangeStats;
      res = await withRetries(async () => {
        const body = Buffer.concat([Buffer.alloc(DATA_PLANE_PAD_BYTES), def.requestSerialize(req)]);
        return def.responseDeserialize(
          await channel.request('ExchangeStats', body, timeoutMs),
        ) as ExchangeStatsResponse__Output;
      }, retries);
    } else {
      const c = this.client;
      res = await unary(c, c.exchangeStats, req, {
        timeoutMs,
        retries,
        ...(this.options.signal === undefined ? {} : { signal: this.options.signal }),
      });
    }
    const n = res.ranks.length;
    if (n === 0 || res.values.length !== n * values.length) {
      throw new Error(
        `ExchangeStats answered ${res.values.length} values for ${n} ranks, expected ${n} x ${values.length}`,
      );
    }
    const all = Float64Array.from(res.values);
    return Array.from({ length: n }, (_, i) => all.subarray(i * values.length, (i + 1) * values.length));
  }

  /** The transport in use (`zmq` or `grpc`), asking shard 0 on first use. */
  async transport(): Promise<'zmq' | 'grpc'> {
    return (await this.dataChannel()) === undefined ? 'grpc' : 'zmq';
  }

  close(): void {
    this.closed = true;
    void this.channel?.then((ch) => ch?.close()).catch(() => undefined);
    this.client.close();
  }

  private dataChannel(): Promise<ZmqChannel | undefined> {
    if ((this.options.dataPlane ?? 'zmq') === 'grpc') return Promise.resolve(undefined);
    if (this.channel === undefined) {
      const c = this.client;
      const attempt = (async () => {
        let port = 0;
        try {
          port = (await unary(c, c.dataPlane, {}, { timeoutMs: 10_000, retries: 5 })).port;
        } catch (err) {
          if (isServiceError(err) && err.code === GrpcStatus.UNIMPLEMENTED) return undefined;
          throw err;
        }
        if (!port) return undefined;
        const ch = await ZmqChannel.connect(`tcp://${hostOf(this.options.address)}:${port}`, {
          token: this.options.token ?? '',
        });
        // Closed while connecting: do not leak the socket.
        if (this.closed) ch.close();
        return ch;
      })();
      this.channel = attempt;
      // A failed discovery (shard 0 down) is asked again by the next call.
      attempt.catch(() => {
        if (this.channel === attempt) this.channel = undefined;
      });
    }
    return this.channel;
  }
}
