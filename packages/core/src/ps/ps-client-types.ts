import type { ChannelOptions } from '@grpc/grpc-js';
import type { OptimizerConfig } from '../job-spec.ts';
import type { ParamMap } from '../variables.ts';
import type { VariableInfo } from '../variables.ts';

// The options and results of ParameterClient (ps-client.ts), apart so the client stays readable.

/** Options of {@link ParameterClient}. */
export interface ParameterClientOptions {
  jobId: string;
  /** `host:port` of every shard, in shard-index order (ps-0, ps-1, ...). */
  shardAddresses: string[];
  /** The job's variables, same list and order as every other role uses. */
  variables: VariableInfo[];
  /** Largest part on the wire. @default 4 MiB */
  maxPartBytes?: number;
  /** Deadline of one attempt of any call; for PushPull it bounds the barrier wait. @default 60000 */
  timeoutMs?: number;
  /** Retries of a call on UNAVAILABLE / DEADLINE_EXCEEDED (every call here is idempotent). @default 2 */
  retries?: number;
  /** Extra gRPC channel options. */
  channelOptions?: ChannelOptions;
  /**
   * Transport of PushPull and Pull: `zmq` uses each shard's ZeroMQ data plane (asked for with the
   * DataPlane call; a shard without one is reached over gRPC), `grpc` always uses gRPC. Both carry
   * the same message bytes. @default 'zmq'
   */
  dataPlane?: DataPlaneKind;
  /**
   * The job credential, sent on every call (gRPC `authorization` metadata and the ZeroMQ token
   * frame). @default the process's (`setDefaultClientSecurity`)
   */
  token?: string;
}

/** Transports of the tensor data plane. */
export type DataPlaneKind = 'grpc' | 'zmq';

/** The data-plane kinds, for flag validation. */
export const DATA_PLANE_KINDS: readonly DataPlaneKind[] = ['grpc', 'zmq'];

/** Arguments of {@link ParameterClient.init}. */
export interface PsInitOptions {
  seed: number;
  optimizer: OptimizerConfig;
  /** Trainer ranks at the start (members 0..worldSize-1). */
  worldSize: number;
  /** Steps per epoch: a snapshot (and checkpoint) is taken when version % stepsPerEpoch == 0. */
  stepsPerEpoch: number;
  /**
   * Folder for checkpoints; each shard writes under `shard-<i>/`. @default the shards' own
   * `--checkpoint-dir` (if any)
   */
  checkpointDir?: string;
  /** A checkpoint every this many applied steps, besides each epoch end (0: epoch ends only). @default 0 */
  checkpointEverySteps?: number;
  /** Resume from the newest checkpoint when a shard does not hold the job. @default false */
  resume?: boolean;
  /**
   * With `resume`: bring every shard to exactly this version (a held job at another version is
   * rebuilt from its checkpoint at it; 0: the fresh initial state). @default none (no rollback)
   */
  rollbackTo?: number;
  /** Whole-variable values replacing the seeded initializer (pretrained embeddings). @default none */
  initialValues?: ParamMap;
}

/** Result of {@link ParameterClient.init}. */
export interface PsInitResult {
  /** Version every shard is at (0 for a fresh job). */
  version: number;
  /** Epochs completed according to the checkpoint resumed from (0 when none). */
  resumedEpochs: number;
}

/** What one shard answered to InitJob ({@link ParameterClient.initEach}). */
export interface PsShardInit {
  shardIndex: number;
  version: number;
  resumedEpochs: number;
  /** The call created the job's state (the shard did not hold it: new job, or a restarted shard). */
  created: boolean;
  /** Version of the checkpoint the shard's held state was loaded from (0: none, a fresh job). */
  restoredVersion: number;
  /** With `resume`: versions of the checkpoints the shard's stores hold, oldest first. */
  checkpointVersions: number[];
}

/** Arguments of {@link ParameterClient.pushPull}. */
export interface PsPushPullInput {
  rank: number;
  /** Global step; the result has version step+1. */
  step: number;
  /** Samples behind the sums (0 for an empty slice: grads and states may then be omitted). */
  sampleCount: number;
  /**
   * Gradient SUMS over the rank's samples, one per trainable variable. Sent without copying (the
   * ZeroMQ data plane's frames view these arrays): leave them unchanged until pushPull settles.
   */
  grads: ParamMap;
  /** Non-trainable values after the forward pass (batch-norm moving statistics; sent like grads). @default none */
  states?: ParamMap;
  /** Loss summed over the rank's samples. */
  lossSum: number;
  /**
   * The caller, the job's only trainer, applies the step itself: the shards answer without the
   * parameters (the result's `params` is empty) and with their checksum (`checksum`). @default false
   */
  ackOnly?: boolean;
}

/** Result of {@link ParameterClient.pushPull}. */
export interface PsPushPullResult {
  version: number;
  /**
   * Every variable at `version`: the client's arrays, overwritten by the next pushPull (no
   * allocation per step), or for a variable that arrived whole and aligned, a view of the received
   * message (no copy). Read-only; copy what must outlive the next call.
   */
  params: ParamMap;
  /** Mean loss over all ranks of the step. */
  meanLoss: number;
  /** Ranks that took part in the step. */
  ranks: number;
  /** With `ackOnly`: {@link float32Checksum} of every variable at `version`, over all shards. */
  checksum?: number;
  /** Where the call's time went (the trainer's step breakdown). */
  timing: PsStepTiming;
}

/**
 * Where a pushPull's time went, in milliseconds. One clock (the caller's): `transferMs` is the round
 * trip minus the time the slowest shard held the push, i.e. send plus receive plus the shard's own
 * decode and encode.
 */
export interface PsStepTiming {
  /** Cutting the gradients into parts and encoding the requests. */
  encodeMs: number;
  /** From the first request sent to the last response received. */
  roundTripMs: number;
  /** Time the slowest shard held the push (barrier wait and aggregation). */
  serverMs: number;
  /** Waiting in the barrier for the other ranks (serverMs - applyMs). */
  barrierWaitMs: number;
  /** The shards' aggregate-and-apply time (the slowest shard's). */
  applyMs: number;
  /** Round trip minus serverMs: sending and receiving. */
  transferMs: number;
  /** Copying the answered parts into the variables. */
  decodeMs: number;
}

/** Arguments of {@link ParameterClient.pull}. */
export interface PsPullOptions {
  /** 0: current parameters; e >= 1: the snapshot at the end of epoch e (waits for it). @default 0 */
  epoch?: number;
  /** Free the snapshot on the shards after this pull. @default false */
  release?: boolean;
  /** Deadline of the wait, e.g. a whole epoch for an evaluator. @default the client's timeoutMs */
  timeoutMs?: number;
}

/** Result of {@link ParameterClient.pull}: fresh arrays the caller owns. */
export interface PsPullResult {
  version: number;
  params: ParamMap;
  /** An epoch snapshot's time (Unix ms, the latest over the shards): when the epoch's last step was applied; 0 for epoch 0. */
  snapshotTimeMs: number;
}
