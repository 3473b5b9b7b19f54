/** Parameter server: partition plan, initial values, fused optimizers, checkpoints, metrics hooks, client. */
export { DEFAULT_MAX_PART_BYTES, partitionPlan } from './partition.ts';
export type { PartInfo, PartPlan } from './partition.ts';
export { initialParameters, initialValues } from './init.ts';
export {
  applyGradients,
  averageStates,
  compileOptimizer,
  createSlots,
  slotName,
  slotSuffixes,
  useOptimizerKernel,
} from './optimizers.ts';
export type { OptimizerSettings } from './optimizers.ts';
export { OptimizerArena } from './optimizer-kernel.ts';
export {
  checkpointFileName,
  decodeCheckpoint,
  doomedCheckpoints,
  encodeCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  parseCheckpointName,
  pruneCheckpoints,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoint.ts';
export type { CheckpointEntry, ShardCheckpoint } from './checkpoint.ts';
export { DirCheckpointStore, shardCheckpointDir } from './checkpoint-store.ts';
export type { CheckpointStore, StoredCheckpoint } from './checkpoint-store.ts';
export {
  optimizerAsShardsSee,
  optimizerFromSpec,
  optimizerToSpec,
  variableFromSpec,
  variableToSpec,
} from './wire.ts';
export { NOOP_PS_OBSERVER, createPsMetrics } from './metrics.ts';
export type { PsObserver } from './metrics.ts';
export { ParameterClient } from './ps-client.ts';
export { StatExchangeClient } from './stat-exchange-client.ts';
export type { StatExchangeClientOptions } from './stat-exchange-client.ts';
export { DEFAULT_PS_OUTAGE_MS, psFailureKind, pullConsistent } from './ps-recovery.ts';
export type { PsResyncOptions } from './ps-recovery.ts';
export { DATA_PLANE_KINDS } from './ps-client-types.ts';
export { float32Digest } from './checksum.ts';
export type { Float32Digest } from './checksum.ts';
export {
  decodePullResponse,
  decodePushPullRequest,
  decodePushPullResponse,
  encodePullResponse,
  encodePushPullRequest,
  encodePushPullResponse,
} from './fast-codecs.ts';
export { DATA_PLANE_PAD_BYTES, ZmqChannel, dataPlaneError } from './zmq-channel.ts';
export type { DataPlaneMethod, DataPlaneReply } from './zmq-channel.ts';
export { fillTensorData, splitTensorData } from './data-frames.ts';
export type { SplitTensors } from './data-frames.ts';
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
// Wire types of ParameterServerService for the service implementation (NamedTensor and the handlers
// type come from the core's wire.ts).
export type { EndJobRequest__Output } from '../generated/distrain/v1/EndJobRequest.ts';
export type { DataPlaneResponse } from '../generated/distrain/v1/DataPlaneResponse.ts';
export type { EndJobResponse } from '../generated/distrain/v1/EndJobResponse.ts';
export type { InitJobRequest, InitJobRequest__Output } from '../generated/distrain/v1/InitJobRequest.ts';
export type { InitJobResponse } from '../generated/distrain/v1/InitJobResponse.ts';
export type { PullRequest__Output } from '../generated/distrain/v1/PullRequest.ts';
export type { PullResponse } from '../generated/distrain/v1/PullResponse.ts';
export type { PushPullRequest__Output } from '../generated/distrain/v1/PushPullRequest.ts';
export type { PushPullResponse } from '../generated/distrain/v1/PushPullResponse.ts';
export type { SetMembersRequest__Output } from '../generated/distrain/v1/SetMembersRequest.ts';
export type { ShareNormsRequest__Output } from '../generated/distrain/v1/ShareNormsRequest.ts';
export type { ExchangeStatsRequest__Output } from '../generated/distrain/v1/ExchangeStatsRequest.ts';
export type { ExchangeStatsResponse } from '../generated/distrain/v1/ExchangeStatsResponse.ts';
export type { ShareNormsResponse } from '../generated/distrain/v1/ShareNormsResponse.ts';
export type { SetMembersResponse } from '../generated/distrain/v1/SetMembersResponse.ts';
export { compileSchedule, learningRateAt, resolveOptimizerSchedule } from './schedule.ts';
export type { ScheduleContext, ScheduleSettings } from './schedule.ts';
export { clipFactor, decays, globalNorm, sumOfSquares } from './clip.ts';
export { StepPolicy } from './step-policy.ts';
