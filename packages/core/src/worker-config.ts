import { ValidationError } from './errors.ts';
import type { TrainingJob } from './job-spec.ts';

/** What the data-loader said about the job's dataset (camelCase copy of DescribeDatasetResponse). */
export interface DatasetInfo {
  datasetId: string;
  trainCount: number;
  testCount: number;
  featureShape: number[];
  featureDtype: 'uint8' | 'float32' | 'int32';
  featureScale: number;
  numClasses: number;
  classNames: string[];
  /** Text datasets: vocabulary size (the vocabulary itself stays with the coordinator). */
  vocabularySize?: number;
}

/**
 * Everything a trainer or the evaluator needs to run, handed over by the coordinator's launcher as one
 * JSON value (env `DISTRAIN_WORKER_CONFIG`), the same for local processes and Kubernetes pods.
 */
export interface WorkerConfig {
  jobId: string;
  role: 'trainer' | 'evaluator';
  /** Trainer rank (0 for the evaluator). */
  rank: number;
  worldSize: number;
  /** host:port of the coordinator's WorkerService. */
  coordinator: string;
  /** host:port of the data-loader. */
  loader: string;
  /** host:port of each parameter-server shard, in shard order. */
  psShards: string[];
  job: TrainingJob;
  dataset: DatasetInfo;
  stepsPerEpoch: number;
  /**
   * Transport of PushPull and Pull: `zmq` (each shard's ZeroMQ data plane, gRPC for a shard without
   * one) or `grpc`. Env DISTRAIN_DATA_PLANE overrides it. @default 'zmq'
   */
  dataPlane?: 'grpc' | 'zmq';
  /**
   * Per-job credential, sent as `authorization: Bearer` on every call (gRPC metadata, the ZeroMQ
   * token frame) and checked by the coordinator, loader and shards (empty: the deployment runs
   * with `--auth none`).
   */
  token?: string;
  /** TLS of the worker's calls: the services' CA (PEM), and a client certificate under mutual TLS. */
  tls?: { ca?: string; cert?: string; key?: string };
  /**
   * Where the worker serves Prometheus `/metrics` (port 0: any free port, reported to the coordinator
   * in heartbeats). Absent: no metrics endpoint.
   */
  metrics?: { host: string; port: number };
  /**
   * The worker stops when it has not reached the coordinator for this long (an orphan: its
   * coordinator died). The Kubernetes launcher sets it longer so a restarted coordinator pod can
   * re-adopt the job. @default DEFAULT_COORDINATOR_LOSS_MS (15 s)
   */
  coordinatorLossMs?: number;
  /**
   * How long a batch stream keeps reconnecting to an unreachable data-loader (a restart, an outage)
   * before the worker fails. @default DEFAULT_LOADER_RETRY_BUDGET_MS (60 s)
   */
  loaderRetryBudgetMs?: number;
  /**
   * How long the worker rides out a parameter-server outage (a shard restarting and restoring its
   * checkpoint) before it gives up. @default 120000
   */
  psOutageMs?: number;
  /** Evaluator: the first epoch to evaluate (a restarted evaluator skips the epochs already reported). @default 1 */
  firstEpoch?: number;
}

/** Default of {@link WorkerConfig.coordinatorLossMs}. */
export const DEFAULT_COORDINATOR_LOSS_MS = 15_000;

/** Default of {@link WorkerConfig.loaderRetryBudgetMs}. */
export const DEFAULT_LOADER_RETRY_BUDGET_MS = 60_000;

/** Env variable carrying the JSON {@link WorkerConfig}. */
export const WORKER_CONFIG_ENV = 'DISTRAIN_WORKER_CONFIG';

/** Env variable choosing the tensor data plane (`grpc` | `zmq`) of every role that reads it. */
export const DATA_PLANE_ENV = 'DISTRAIN_DATA_PLANE';

/** Env variable carrying the per-job credential (Kubernetes: a `secretKeyRef` to the job's Secret). */
export const JOB_TOKEN_ENV = 'DISTRAIN_JOB_TOKEN';

/** Env variable carrying the workers' TLS client key under mutual TLS (Kubernetes: from the job's Secret). */
export const JOB_TLS_KEY_ENV = 'DISTRAIN_JOB_TLS_KEY';

/** Reads the worker config from the environment map given (main.ts passes `process.env`). */
export function readWorkerConfig(env: Record<string, string | undefined>): WorkerConfig {
  const raw = env[WORKER_CONFIG_ENV];
  if (raw === undefined || raw === '') {
    throw new ValidationError(WORKER_CONFIG_ENV, 'is not set; workers are started by the coordinator');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ValidationError(WORKER_CONFIG_ENV, 'is not valid JSON', { cause: err });
  }
  const c = parsed as Partial<WorkerConfig>;
  for (const key of [
    'jobId',
    'role',
    'coordinator',
    'loader',
    'psShards',
    'job',
    'dataset',
    'stepsPerEpoch',
  ] as const) {
    if (c[key] === undefined) throw new ValidationError(`${WORKER_CONFIG_ENV}.${key}`, 'is required');
  }
  for (const key of ['coordinatorLossMs', 'loaderRetryBudgetMs'] as const) {
    const v = c[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 1_000 || v > 86_400_000))
      throw new ValidationError(
        `${WORKER_CONFIG_ENV}.${key}`,
        `must be an integer number of milliseconds in 1000..86400000, got ${JSON.stringify(v)}`,
      );
  }
  const dataPlane = env[DATA_PLANE_ENV];
  if (dataPlane !== undefined && dataPlane !== '') {
    if (dataPlane !== 'grpc' && dataPlane !== 'zmq')
      throw new ValidationError(DATA_PLANE_ENV, `must be grpc or zmq, got "${dataPlane}"`);
    c.dataPlane = dataPlane;
  }
  if (c.dataPlane !== undefined && c.dataPlane !== 'grpc' && c.dataPlane !== 'zmq') {
    throw new ValidationError(
      `${WORKER_CONFIG_ENV}.dataPlane`,
      `must be grpc or zmq, got "${String(c.dataPlane)}"`,
    );
  }
  // On Kubernetes the credential comes from the job's Secret, apart from the plain config.
  const token = env[JOB_TOKEN_ENV];
  if (c.token === undefined && token !== undefined && token !== '') c.token = token;
  const tlsKey = env[JOB_TLS_KEY_ENV];
  if (c.tls && c.tls.key === undefined && tlsKey) c.tls = { ...c.tls, key: tlsKey };
  return c as WorkerConfig;
}

/** The job's dataset config as the wire DatasetSpec (empty strings and zeros mean defaults). */
export function datasetSpecToWire(d: TrainingJob['spec']['dataset']): {
  name: string;
  path: string;
  testPath: string;
  labelColumn: string;
  testFraction: number;
  sampleCount: number;
  standardize: boolean;
  format: string;
  textField: string;
  labelField: string;
  tokenizer: string;
  lowercase: boolean;
  maxLength: number;
  pad: string;
  truncate: string;
  minFrequency: number;
  maxVocabulary: number;
  maxPerClass: number;
} {
  return {
    name: d.name,
    path: d.path ?? '',
    testPath: d.testPath ?? '',
    labelColumn: d.labelColumn ?? '',
    testFraction: d.testFraction ?? 0,
    sampleCount: d.sampleCount ?? 0,
    standardize: d.standardize ?? false,
    format: d.format ?? '',
    textField: d.textField ?? '',
    labelField: d.labelField ?? '',
    tokenizer: d.tokenizer ?? '',
    lowercase: d.lowercase ?? true,
    maxLength: d.maxLength ?? 0,
    pad: d.pad ?? '',
    truncate: d.truncate ?? '',
    minFrequency: d.vocabulary?.minFrequency ?? 0,
    maxVocabulary: d.vocabulary?.maxSize ?? 0,
    maxPerClass: d.maxPerClass ?? 0,
  };
}

/**
 * Exit code of a worker that cannot run the job as configured (e.g. GPUs asked for and no GPU
 * backend): the coordinator fails the job at once instead of restarting it (sysexits EX_CONFIG).
 */
export const EXIT_CONFIG = 78;
