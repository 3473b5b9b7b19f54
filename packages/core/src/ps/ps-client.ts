// Over 400 lines on purpose: one client over two transports (gRPC, the ZeroMQ data plane) with its step timing; types and request writers live apart.
import { StateError, ValidationError } from '../errors.ts';
import type { NamedTensor, NamedTensor__Output } from '../generated/distrain/v1/NamedTensor.ts';
import type { ParameterServerServiceClient } from '../generated/distrain/v1/ParameterServerService.ts';
import type { PushPullRequest } from '../generated/distrain/v1/PushPullRequest.ts';
import type { PushPullResponse__Output } from '../generated/distrain/v1/PushPullResponse.ts';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { isServiceError } from '../errors.ts';
import { unary } from '../grpc-client.ts';
import { parameterServerClient } from '../proto.ts';
import { defaultClientSecurity } from '../auth/security.ts';
import { encodeTensor, sizeOf } from '../tensor-codec.ts';
import type { ParamMap, VariableInfo } from '../variables.ts';
import {
  EncodedMessage,
  decodePullResponse,
  decodePushPullResponse,
  encodePushPullRequest,
} from './fast-codecs.ts';
import { DATA_PLANE_PAD_BYTES, ZmqChannel, withRetries } from './zmq-channel.ts';
import { DEFAULT_MAX_PART_BYTES, partitionPlan } from './partition.ts';
import type { PartInfo, PartPlan } from './partition.ts';
import { optimizerToSpec, variableToSpec } from './wire.ts';
import { hostOf, padded, pullRequestBytes } from './data-plane-requests.ts';
import { fillTensorData } from './data-frames.ts';
import { DATA_PLANE_KINDS } from './ps-client-types.ts';
import type {
  DataPlaneKind,
  ParameterClientOptions,
  PsInitOptions,
  PsInitResult,
  PsPullOptions,
  PsPullResult,
  PsPushPullInput,
  PsPushPullResult,
  PsShardInit,
  PsStepTiming,
} from './ps-client-types.ts';

export type {
  DataPlaneKind,
  ParameterClientOptions,
  PsInitOptions,
  PsInitResult,
  PsPullOptions,
  PsPullResult,
  PsPushPullInput,
  PsPushPullResult,
  PsShardInit,
  PsStepTiming,
} from './ps-client-types.ts';

/**
 * Client of a job's parameter-server shards, used by trainers, the evaluator and the coordinator.
 * Splits variables into the parts of {@link partitionPlan}, talks to every shard in parallel, and
 * assembles the answers back into whole variables.
 */
export class ParameterClient {
  /** The partition plan shared with the shards. */
  readonly plan: PartPlan;
  /** The shards' addresses, in shard-index order. */
  readonly shardAddresses: readonly string[];
  private readonly jobId: string;
  private readonly variables: readonly VariableInfo[];
  private readonly clients: ParameterServerServiceClient[];
  private readonly timeoutMs: number;
  private readonly retries: number;
  /** Shards that own at least one part: the only ones a step involves. */
  private readonly activeShards: number[];
  /** Output buffers of pushPull, reused across steps. */
  private readonly buffers: ParamMap;
  /** Per-shard buffers the PushPull requests are encoded into, reused across steps. */
  private readonly requestBuffers: Buffer[];
  /** Per part key: the part as a tensor without data (the body of a zero-copy PushPull). */
  private readonly partHeaders: Map<string, NamedTensor>;
  /** A pushPull is in flight: its request buffers are in use (a concurrent call allocates its own). */
  private pushing = false;
  private readonly dataPlane: DataPlaneKind;
  private readonly token: string;
  /** Per shard: its data-plane channel, or undefined for gRPC (resolved on first use). */
  private channels: Promise<(ZmqChannel | undefined)[]> | undefined;
  /** {@link channels} once resolved (the push path uses them without awaiting). */
  private knownChannels: (ZmqChannel | undefined)[] | undefined;
  private closed = false;

  constructor(options: ParameterClientOptions) {
    if (!options.jobId) throw new ValidationError('jobId', 'must not be empty');
    if (options.shardAddresses.length === 0)
      throw new ValidationError('shardAddresses', 'needs at least one shard');
    if (options.variables.length === 0) throw new ValidationError('variables', 'must not be empty');
    this.jobId = options.jobId;
    this.shardAddresses = Object.freeze([...options.shardAddresses]);
    this.variables = options.variables;
    this.plan = partitionPlan(
      options.variables,
      options.shardAddresses.length,
      options.maxPartBytes ?? DEFAULT_MAX_PART_BYTES,
    );
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.retries = options.retries ?? 2;
    // The token given, on gRPC too (else the process's default credential).
    const security = options.token ? { ...defaultClientSecurity(), token: options.token } : undefined;
    this.clients = options.shardAddresses.map((a) =>
      parameterServerClient(a, options.channelOptions, security),
    );
    this.activeShards = this.plan.byShard.flatMap((parts, s) => (parts.length > 0 ? [s] : []));
    this.buffers = new Map(options.variables.map((v) => [v.name, new Float32Array(sizeOf(v.shape))]));
    this.requestBuffers = options.shardAddresses.map(() => Buffer.allocUnsafeSlow(0));
    this.partHeaders = new Map(
      this.plan.parts.map((p) => [
        p.key,
        { name: p.key, tensor: { dtype: 'DTYPE_FLOAT32', shape: [p.length], data: Buffer.alloc(0) } },
      ]),
    );
    const dataPlane = options.dataPlane ?? 'zmq';
    if (!DATA_PLANE_KINDS.includes(dataPlane))
      throw new ValidationError(
        'dataPlane',
        `must be one of ${DATA_PLANE_KINDS.join(', ')}, got "${String(dataPlane)}"`,
      );
    this.dataPlane = dataPlane;
    // The ZeroMQ token frame: the job credential, else this process's (a service's deployment token).
    this.token = options.token ?? defaultClientSecurity().token ?? '';
  }

  /**
   * The transport each shard is reached by for PushPull and Pull (`zmq` or `grpc`), asking the
   * shards on first use.
   */
  async transports(): Promise<DataPlaneKind[]> {
    const channels = await this.dataChannels();
    return channels.map((c) => (c ? 'zmq' : 'grpc'));
  }

  private dataChannels(): Promise<(ZmqChannel | undefined)[]> {
    if (this.dataPlane === 'grpc') return Promise.resolve(this.clients.map(() => undefined));
    if (!this.channels) {
      const attempt = Promise.all(
        this.clients.map(async (c, s) => {
          let port = 0;
          try {
            port = (await unary(c, c.dataPlane, {}, this.callOptions())).port;
          } catch (err) {
            // A shard of a version without the data plane: gRPC it is.
            if (isServiceError(err) && err.code === GrpcStatus.UNIMPLEMENTED) return undefined;
            throw err;
          }
          if (!port) return undefined;
          const host = hostOf(this.shardAddresses[s] as string);
          return ZmqChannel.connect(`tcp://${host}:${port}`, { token: this.token });
        }),
      ).then((channels) => {
        // Closed while connecting: do not leak sockets.
        if (this.closed) for (const ch of channels) ch?.close();
        else this.knownChannels = channels;
        return channels;
      });
      this.channels = attempt;
      // A failed discovery (a shard down) is asked again by the next call.
      attempt.catch(() => {
        if (this.channels === attempt) this.channels = undefined;
      });
    }
    return this.channels;
  }

  /** Creates the job on every shard in parallel (idempotent for an identical call). */
  async init(options: PsInitOptions): Promise<PsInitResult> {
    const results = await this.initEach(options);
    const versions = new Set(results.map((r) => r.version));
    if (versions.size > 1) {
      // Shards resumed from checkpoints of different versions (a crash between two shards' writes).
      throw new StateError(
        `shards of job ${this.jobId} are at different versions: ${results.map((r) => r.version).join(', ')}`,
        { jobId: this.jobId },
      );
    }
    const first = results[0] as PsShardInit;
    return { version: first.version, resumedEpochs: first.resumedEpochs };
  }

  /**
   * InitJob on every shard in parallel; each shard's answer, without requiring them to agree (the
   * coordinator's shard watch compares them).
   */
  async initEach(options: PsInitOptions): Promise<PsShardInit[]> {
    const optimizer = optimizerToSpec(options.optimizer);
    const variables = this.variables.map(variableToSpec);
    const results = await Promise.all(
      this.clients.map((c, shardIndex) =>
        unary(
          c,
          c.initJob,
          {
            jobId: this.jobId,
            seed: options.seed,
            variables,
            optimizer,
            worldSize: options.worldSize,
            stepsPerEpoch: options.stepsPerEpoch,
            shardIndex,
            shardCount: this.clients.length,
            checkpointDir: options.checkpointDir ?? '',
            checkpointEverySteps: options.checkpointEverySteps ?? 0,
            resume: options.resume ?? false,
            rollback: options.rollbackTo !== undefined,
            resumeVersion: options.rollbackTo ?? 0,
            maxPartBytes: this.plan.maxPartBytes,
            shardAddresses: [...this.shardAddresses],
            initialValues: [...(options.initialValues ?? new Map<string, Float32Array>())].map(
              ([name, values]) => ({
                name,
                tensor: encodeTensor(
                  values,
                  this.variables.find((v) => v.name === name)?.shape ?? [values.length],
                ),
              }),
            ),
          },
          this.callOptions(),
        ),
      ),
    );
    return results.map((r, shardIndex) => ({
      shardIndex,
      version: Number(r.version),
      resumedEpochs: r.resumedEpochs,
      created: r.created,
      restoredVersion: Number(r.restoredVersion),
      checkpointVersions: r.checkpointVersions.map(Number),
    }));
  }

  /**
   * Pushes this rank's gradient sums for `step` and returns the parameters of version step+1 (push
   * and pull in one round trip per shard, all shards in parallel).
   *
   * Retried on UNAVAILABLE / DEADLINE_EXCEEDED: that is safe because the shards make PushPull
   * idempotent per (rank, step): a repeat of an applied step is never applied again (it returns the
   * current parameters) and a repeat of the pending step keeps the first push and just waits.
   */
  async pushPull(input: PsPushPullInput): Promise<PsPushPullResult> {
    const { rank, step, sampleCount, grads, lossSum } = input;
    const ackOnly = input.ackOnly === true;
    const states = input.states ?? new Map<string, Float32Array>();
    // Each request is encoded once into this shard's reusable buffer. That is safe because grpc-js has
    // copied it into its frame before the call completes, and the next pushPull starts after every
    // call of this one completed; a concurrent pushPull (not how trainers use it) gets fresh buffers.
    // Once known, the channels are used without an await, so the push is on its way (see
    // ZmqChannel.requestFrames) before this call returns to the caller.
    const channels = this.knownChannels ?? (await this.dataChannels());
    const reuse = !this.pushing;
    this.pushing = true;
    let responses: PushPullResponse__Output[];
    // The client's arrays, where a variable whose one part arrived aligned is replaced by a view of it.
    const params: ParamMap = new Map(this.buffers);
    const t0 = performance.now();
    let t1 = t0;
    let parts = 0;
    let decodeMs = 0;
    try {
      const requests = this.activeShards.map((s) => {
        const parts = this.plan.byShard[s] as readonly PartInfo[];
        const required = sampleCount > 0;
        if (channels[s]) {
          // Zero copy: the body names the parts, the gradients go out as frames viewing `grads`
          // (unchanged by the caller until this call returns, as PsPushPullInput says).
          const frames: Buffer[] = [];
          const body = padded({
            jobId: this.jobId,
            rank,
            step,
            sampleCount,
            lossSum,
            ackOnly,
            grads: this.frames(parts, true, grads, required, 'grads', frames),
            states: this.frames(parts, false, states, required, 'states', frames),
          });
          return { body, frames };
        }
        const request: PushPullRequest = {
          jobId: this.jobId,
          rank,
          step,
          sampleCount,
          lossSum,
          ackOnly,
          grads: this.slice(parts, true, grads, required, 'grads'),
          states: this.slice(parts, false, states, required, 'states'),
        };
        return this.encodeRequest(s, request, reuse);
      });
      t1 = performance.now();
      // Each shard's parts are copied into the variables as soon as that shard answers, while the
      // other shards' answers are still on the way.
      const copyIn = (r: PushPullResponse__Output): PushPullResponse__Output => {
        const c0 = performance.now();
        parts += this.assemble([r.params], params, false, true);
        decodeMs += performance.now() - c0;
        return r;
      };
      responses = await Promise.all(
        this.activeShards.map((s, i) => {
          const ch = channels[s];
          if (ch) {
            const { body, frames } = requests[i] as { body: Buffer; frames: Buffer[] };
            return withRetries(
              () => ch.requestFrames('PushPull', body, frames, this.timeoutMs),
              this.retries,
            ).then((reply) => {
              const r = decodePushPullResponse(reply.body);
              fillTensorData([{ field: 'params', list: r.params }], reply.data);
              return copyIn(r);
            });
          }
          const c = this.clients[s] as ParameterServerServiceClient;
          return unary(c, c.pushPull, requests[i] as PushPullRequest, this.callOptions()).then(copyIn);
        }),
      );
    } finally {
      if (reuse) this.pushing = false;
    }
    const t2 = performance.now();
    let version: number | undefined;
    for (const r of responses) {
      const v = Number(r.version);
      if (version !== undefined && v !== version) {
        throw new StateError(
          `shards of job ${this.jobId} answered step ${step} with versions ${responses.map((x) => x.version).join(', ')}`,
          {
            jobId: this.jobId,
            step,
          },
        );
      }
      version = v;
    }
    if (!ackOnly && parts !== this.plan.parts.length) {
      throw new StateError(`shards answered ${parts} parts, the plan has ${this.plan.parts.length}`, {
        jobId: this.jobId,
      });
    }
    let serverMs = 0;
    let applyMs = 0;
    for (const r of responses) {
      serverMs = Math.max(serverMs, (r.serverSeconds ?? 0) * 1000);
      applyMs = Math.max(applyMs, (r.applySeconds ?? 0) * 1000);
    }
    const roundTripMs = Math.max(0, t2 - t1 - decodeMs);
    serverMs = Math.min(serverMs, roundTripMs);
    const timing: PsStepTiming = {
      encodeMs: t1 - t0,
      roundTripMs,
      serverMs,
      barrierWaitMs: Math.max(0, serverMs - applyMs),
      applyMs,
      transferMs: roundTripMs - serverMs,
      decodeMs,
    };
    const first = responses[0] as (typeof responses)[number];
    const result: PsPushPullResult = {
      version: version ?? 0,
      params: ackOnly ? new Map() : params,
      meanLoss: first.meanLoss,
      ranks: first.ranks,
      timing,
    };
    if (ackOnly) result.checksum = responses.reduce((s, r) => (s + r.paramsChecksum) >>> 0, 0);
    return result;
  }

  /** Current parameters, or the snapshot at the end of `epoch` (fresh arrays). */
  async pull(options: PsPullOptions = {}): Promise<PsPullResult> {
    const epoch = options.epoch ?? 0;
    const channels = await this.dataChannels();
    const responses = await Promise.all(
      this.activeShards.map((s) => {
        const ch = channels[s];
        if (ch) {
          const message = pullRequestBytes({ jobId: this.jobId, epoch, release: options.release ?? false });
          const body = Buffer.allocUnsafe(DATA_PLANE_PAD_BYTES + message.length);
          body.fill(0, 0, DATA_PLANE_PAD_BYTES);
          message.copy(body, DATA_PLANE_PAD_BYTES);
          const timeoutMs = options.timeoutMs ?? this.timeoutMs;
          return withRetries(() => ch.request('Pull', body, timeoutMs), this.retries).then((b) =>
            decodePullResponse(b),
          );
        }
        const c = this.clients[s] as ParameterServerServiceClient;
        return unary(
          c,
          c.pull,
          { jobId: this.jobId, epoch, release: options.release ?? false },
          this.callOptions(options.timeoutMs),
        );
      }),
    );
    const versions = new Set(responses.map((r) => Number(r.version)));
    if (versions.size > 1) {
      throw new StateError(
        `shards of job ${this.jobId} are at different versions: ${responses.map((r) => r.version).join(', ')}`,
        {
          jobId: this.jobId,
        },
      );
    }
    const params: ParamMap = new Map(this.variables.map((v) => [v.name, new Float32Array(sizeOf(v.shape))]));
    this.assemble(
      responses.map((r) => r.params),
      params,
    );
    const snapshotTimeMs = responses.reduce((m, r) => Math.max(m, Number(r.snapshotTimeMs ?? 0)), 0);
    return { version: Number(responses[0]?.version ?? 0), params, snapshotTimeMs };
  }

  /** Sets the live ranks on every shard (eviction); returns the lowest version the shards report. */
  async setMembers(ranks: readonly number[]): Promise<number> {
    const results = await Promise.all(
      this.clients.map((c) =>
        unary(c, c.setMembers, { jobId: this.jobId, ranks: [...ranks] }, this.callOptions()),
      ),
    );
    return Math.min(...results.map((r) => Number(r.version)));
  }

  /** Frees the job on every shard (tries all, then throws the first failure); returns the bytes freed. */
  async endJob(): Promise<number> {
    const settled = await Promise.allSettled(
      this.clients.map((c) => unary(c, c.endJob, { jobId: this.jobId }, this.callOptions())),
    );
    let freed = 0;
    for (const s of settled) {
      if (s.status === 'rejected') throw s.reason;
      freed += Number(s.value.freedBytes);
    }
    return freed;
  }

  /** Closes the channels (data-plane calls in flight end with UNAVAILABLE). */
  close(): void {
    this.closed = true;
    for (const c of this.clients) c.close();
    void this.channels?.then(
      (chs) => chs.forEach((ch) => ch?.close()),
      () => undefined,
    );
  }

  private callOptions(timeoutMs = this.timeoutMs): { timeoutMs: number; retries: number } {
    return { timeoutMs, retries: this.retries };
  }

  /** The parts of one shard cut from whole variables as zero-copy tensors. */
  private slice(
    parts: readonly PartInfo[],
    trainable: boolean,
    values: ParamMap,
    required: boolean,
    field: string,
  ): NamedTensor[] {
    const out: NamedTensor[] = [];
    for (const p of parts) {
      if (p.trainable !== trainable) continue;
      const whole = this.whole(p, values, required, field);
      if (!whole) continue;
      const view = whole.subarray(p.offset, p.offset + p.length);
      out.push({ name: p.key, tensor: encodeTensor(view, [p.length]) });
    }
    return out;
  }

  /**
   * The parts of one shard for the zero-copy data plane: their tensors without data (returned, for
   * the body) and, appended to `frames`, Buffers viewing the parts' bytes in `values`.
   */
  private frames(
    parts: readonly PartInfo[],
    trainable: boolean,
    values: ParamMap,
    required: boolean,
    field: string,
    frames: Buffer[],
  ): NamedTensor[] {
    const out: NamedTensor[] = [];
    for (const p of parts) {
      if (p.trainable !== trainable) continue;
      const whole = this.whole(p, values, required, field);
      if (!whole) continue;
      out.push(this.partHeaders.get(p.key) as NamedTensor);
      frames.push(Buffer.from(whole.buffer, whole.byteOffset + p.offset * 4, p.length * 4));
    }
    return out;
  }

  /** The whole variable of part `p` in `values`, its length checked; undefined when absent and not required. */
  private whole(p: PartInfo, values: ParamMap, required: boolean, field: string): Float32Array | undefined {
    const whole = values.get(p.variable);
    if (!whole) {
      if (required) throw new ValidationError(`${field}.${p.variable}`, 'is missing');
      return undefined;
    }
    const expected = sizeOf((this.variables[p.variableIndex] as VariableInfo).shape);
    if (whole.length !== expected) {
      throw new ValidationError(
        `${field}.${p.variable}`,
        `has ${whole.length} elements, the variable has ${expected}`,
      );
    }
    return whole;
  }

  /**
   * The request as the installed PushPull serializer sends it: encoded into shard `s`'s reusable
   * buffer (grown as needed) when `reuse`, else into a fresh one.
   */
  private encodeRequest(s: number, request: PushPullRequest, reuse: boolean): PushPullRequest {
    let scratch: Buffer | undefined;
    if (reuse) {
      let bytes = 64 + this.jobId.length * 3;
      for (const list of [request.grads, request.states])
        for (const nt of list ?? [])
          bytes += 64 + (nt.name?.length ?? 0) * 3 + (nt.tensor?.data?.length ?? 0);
      scratch = this.requestBuffers[s] as Buffer;
      if (scratch.length < bytes) {
        scratch = Buffer.allocUnsafeSlow(bytes);
        this.requestBuffers[s] = scratch;
      }
    }
    const encoded = encodePushPullRequest(request, scratch);
    // EncodedMessage is what the installed serializer expects in place of the plain request.
    return (encoded ? new EncodedMessage(encoded) : request) as unknown as PushPullRequest;
  }

  /**
   * Copies every returned part into its variable's array; every part must arrive exactly once. The
   * bytes are copied straight from the received message (no realigning copy first). With `view`, a
   * variable that is one part and arrived 4-byte aligned (a ZeroMQ data frame is its own buffer) is
   * not copied: `into` gets a view of the received bytes instead (nothing else holds them).
   */
  private assemble(lists: NamedTensor__Output[][], into: ParamMap, complete = true, view = false): number {
    let count = 0;
    for (const list of lists) {
      for (const nt of list) {
        const part = this.plan.byKey.get(nt.name);
        const t = nt.tensor;
        if (!part || !t)
          throw new StateError(`shard answered with unknown part "${nt.name}"`, { jobId: this.jobId });
        if (t.dtype !== 'DTYPE_FLOAT32') {
          throw new StateError(
            `shard answered part "${nt.name}" as ${String(t.dtype)}, expected DTYPE_FLOAT32`,
            {
              jobId: this.jobId,
            },
          );
        }
        const bytes = t.data;
        if (bytes.byteLength !== part.length * 4 || sizeOf(t.shape) !== part.length) {
          throw new StateError(
            `shard answered part "${nt.name}" with ${bytes.byteLength / 4} elements, shape [${t.shape.join(',')}], expected ${part.length}`,
            { jobId: this.jobId },
          );
        }
        count++;
        if (view && bytes.byteOffset % 4 === 0 && this.plan.byVariable[part.variableIndex]?.length === 1) {
          into.set(part.variable, new Float32Array(bytes.buffer, bytes.byteOffset, part.length));
          continue;
        }
        const dest = into.get(part.variable) as Float32Array;
        new Uint8Array(dest.buffer, dest.byteOffset + part.offset * 4, bytes.byteLength).set(bytes);
      }
    }
    if (complete && count !== this.plan.parts.length) {
      throw new StateError(`shards answered ${count} parts, the plan has ${this.plan.parts.length}`, {
        jobId: this.jobId,
      });
    }
    return count;
  }
}
