import { ValidationError } from '../errors.ts';
import type { ParameterServerServiceClient } from '../generated/distrain/v1/ParameterServerService.ts';
import { unary } from '../grpc-client.ts';
import { parameterServerClient } from '../proto.ts';

/** Options of {@link StatExchangeClient}. */
export interface StatExchangeClientOptions {
  jobId: string;
  /** This trainer's rank. */
  rank: number;
  /** host:port of shard 0 (the shard that serves `ExchangeStats`). */
  address: string;
  /** Deadline of one attempt, ms (the other ranks may still be computing). @default 60000 */
  timeoutMs?: number;
  /** Retries after DEADLINE_EXCEEDED / UNAVAILABLE (the call is idempotent). @default 20 */
  retries?: number;
  /** Stops the retries (the worker's shutdown). */
  signal?: AbortSignal;
}

/**
 * Synchronized batch norm's all-gather through shard 0 of the parameter server (gRPC
 * `ExchangeStats`): implements the model area's `StatExchange` (`allGather(step, slot, values)` ->
 * every live rank's vector, in rank order).
 */
export class StatExchangeClient {
  private readonly client: ParameterServerServiceClient;

  constructor(private readonly options: StatExchangeClientOptions) {
    if (!options.jobId) throw new ValidationError('jobId', 'must not be empty');
    if (!options.address) throw new ValidationError('address', 'needs the address of shard 0');
    this.client = parameterServerClient(options.address);
  }

  async allGather(step: number, slot: number, values: Float64Array): Promise<Float64Array[]> {
    const c = this.client;
    const res = await unary(
      c,
      c.exchangeStats,
      { jobId: this.options.jobId, rank: this.options.rank, step, slot, values: [...values] },
      {
        timeoutMs: this.options.timeoutMs ?? 60_000,
        retries: this.options.retries ?? 20,
        ...(this.options.signal === undefined ? {} : { signal: this.options.signal }),
      },
    );
    const n = res.ranks.length;
    if (n === 0 || res.values.length !== n * values.length) {
      throw new Error(
        `ExchangeStats answered ${res.values.length} values for ${n} ranks, expected ${n} x ${values.length}`,
      );
    }
    const all = Float64Array.from(res.values);
    return Array.from({ length: n }, (_, i) => all.subarray(i * values.length, (i + 1) * values.length));
  }

  close(): void {
    this.client.close();
  }
}
