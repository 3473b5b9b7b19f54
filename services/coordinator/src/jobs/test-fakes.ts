/** Fakes of the coordinator's ports for the unit tests beside the job parts (not shipped code). */
import { silentLogger, validateJob } from '@distrain/core';
import type {
  DatasetInfo,
  HeartbeatRequest__Output,
  Job,
  JobEvent,
  ParamMap,
  TrainingJob,
  WorkerConfig,
} from '@distrain/core';
import type { PsInitOptions, PsShardInit } from '@distrain/core/ps';
import { EventBus } from '../event-bus.ts';
import type { Launcher, WorkerExit, WorkerHandle } from '../launcher.ts';
import { JobManager } from '../job-manager.ts';
import type { JobManagerOptions } from '../job-manager.ts';
import { MemoryJobRecordStore } from '../ports.ts';
import type { CancelTimer, Clock, DatasetCatalog, JobParameters, ParameterServerAdmin } from '../ports.ts';

/** A clock that moves only when told: `advance` runs the due timers in time order. */
export class FakeClock implements Clock {
  private timeMs = 1_000_000;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void; everyMs?: number }>();

  now(): number {
    return this.timeMs;
  }
  setTimeout(fn: () => void, ms: number): CancelTimer {
    const id = this.nextId++;
    this.timers.set(id, { at: this.timeMs + ms, fn });
    return () => this.timers.delete(id);
  }
  setInterval(fn: () => void, ms: number): CancelTimer {
    const id = this.nextId++;
    this.timers.set(id, { at: this.timeMs + ms, fn, everyMs: ms });
    return () => this.timers.delete(id);
  }
  /** Timers not yet run or cancelled. */
  get pending(): number {
    return this.timers.size;
  }
  /** Moves time on by `ms`, running each timer when its time comes (and settling promises after each). */
  async advance(ms: number): Promise<void> {
    const end = this.timeMs + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void; everyMs?: number }] | undefined;
      for (const entry of this.timers)
        if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      const [id, timer] = due;
      this.timeMs = timer.at;
      if (timer.everyMs === undefined) this.timers.delete(id);
      else timer.at += timer.everyMs;
      timer.fn();
      await settle();
    }
    this.timeMs = end;
    await settle();
  }
}

/** Lets pending promise callbacks run (several hops of async functions). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A worker the tests end by hand. */
export class FakeWorker implements WorkerHandle {
  readonly exited: Promise<WorkerExit>;
  stopped = false;
  private resolveExit!: (exit: WorkerExit) => void;
  constructor(
    readonly id: string,
    readonly config: WorkerConfig,
    readonly attempt: number,
  ) {
    this.exited = new Promise((r) => (this.resolveExit = r));
  }
  /** The worker's process ends with `code`. */
  exit(code: number | null, reason = code === 0 ? 'exited 0' : `exited ${code}`): void {
    this.resolveExit({ code, reason });
  }
  stop(): Promise<void> {
    this.stopped = true;
    this.exit(null, 'stopped');
    return Promise.resolve();
  }
}

/** Records launches and stops; `failNextLaunch` makes the next launch reject. */
export class FakeLauncher implements Launcher {
  readonly kind = 'fake';
  /** false: like local processes, workers end with the coordinator. */
  workersOutliveCoordinator = true;
  readonly launched: FakeWorker[] = [];
  readonly stoppedJobs: string[] = [];
  failNextLaunch: Error | undefined;

  launch(config: WorkerConfig, attempt: number): Promise<WorkerHandle> {
    if (this.failNextLaunch) {
      const err = this.failNextLaunch;
      this.failNextLaunch = undefined;
      return Promise.reject(err);
    }
    const w = new FakeWorker(`${config.jobId}-${config.role}-${config.rank}-${attempt}`, config, attempt);
    this.launched.push(w);
    return Promise.resolve(w);
  }
  stopJob(jobId: string): Promise<void> {
    this.stoppedJobs.push(jobId);
    for (const w of this.launched) if (w.config.jobId === jobId && !w.stopped) void w.stop();
    return Promise.resolve();
  }
  /** The newest launch of one worker. */
  latest(role: 'trainer' | 'evaluator', rank: number): FakeWorker {
    const w = this.launched.filter((l) => l.config.role === role && l.config.rank === rank).at(-1);
    if (!w) throw new Error(`no ${role} ${rank} launched`);
    return w;
  }
}

export const MNIST_INFO: DatasetInfo = {
  datasetId: 'mnist-test',
  trainCount: 640,
  testCount: 100,
  featureShape: [28, 28],
  featureDtype: 'uint8',
  featureScale: 1 / 255,
  numClasses: 10,
  classNames: [],
};

/** The data-loader's catalog: one dataset; records releases. */
export class FakeCatalog implements DatasetCatalog {
  readonly released: string[] = [];
  info: DatasetInfo = MNIST_INFO;
  failWith: Error | undefined;
  describe(): Promise<DatasetInfo> {
    return this.failWith ? Promise.reject(this.failWith) : Promise.resolve(this.info);
  }
  releaseJob(jobId: string): Promise<void> {
    this.released.push(jobId);
    return Promise.resolve();
  }
}

/** One call to a fake parameter-server shard set. */
export type PsCall = { jobId: string; shards: string[] } & (
  { op: 'init' | 'ensure'; options: PsInitOptions } | { op: 'pull' | 'endJob' | 'close' }
);

/** Parameter servers that hold jobs in a set; `forget` drops a job (as a restarted shard would). */
export class FakeParameterServers implements ParameterServerAdmin {
  readonly calls: PsCall[] = [];
  readonly held = new Map<string, number>();
  /** Makes the next InitJob wait for this promise. */
  initGate: Promise<void> | undefined;
  /** Makes pulls wait for this promise. */
  pullGate: Promise<void> | undefined;
  /** What a pull of a job returns as its parameters (default: none). */
  readonly params = new Map<string, ParamMap>();
  /** Answers of the next `ensure` calls (each shard's InitJob); default: every shard holds the job. */
  readonly ensureAnswers: PsShardInit[][] = [];
  forJob({ jobId, shardAddresses }: { jobId: string; shardAddresses: string[] }): JobParameters {
    const record = (c: PsCall): void => void this.calls.push(c);
    const shards = [...shardAddresses];
    return {
      init: async (options) => {
        record({ op: 'init', jobId, shards, options });
        await this.initGate;
        this.held.set(jobId, 0);
      },
      ensure: (options) => {
        record({ op: 'ensure', jobId, shards, options });
        const next = this.ensureAnswers.shift();
        if (next) return Promise.resolve(next);
        const version = this.held.get(jobId) ?? 0;
        return Promise.resolve(
          shards.map((_, shardIndex) => ({
            shardIndex,
            version,
            resumedEpochs: 0,
            created: false,
            restoredVersion: 0,
            checkpointVersions: [],
          })),
        );
      },
      pull: async () => {
        record({ op: 'pull', jobId, shards });
        await this.pullGate;
        const version = this.held.get(jobId);
        if (version === undefined) throw new Error(`job ${jobId} not found`);
        const params: ParamMap = this.params.get(jobId) ?? new Map();
        return { params, version };
      },
      endJob: () => {
        record({ op: 'endJob', jobId, shards });
        this.held.delete(jobId);
        return Promise.resolve();
      },
      close: () => record({ op: 'close', jobId, shards }),
    };
  }
  ops(jobId: string): string[] {
    return this.calls.filter((c) => c.jobId === jobId).map((c) => c.op);
  }
}

/** A small valid job; `spec` fields override the defaults. */
export function jobDoc(spec: Record<string, unknown> = {}): TrainingJob {
  return validateJob({
    apiVersion: 'distrain.io/v1',
    kind: 'TrainingJob',
    metadata: { name: 'unit' },
    spec: {
      dataset: { name: 'mnist' },
      model: { layers: [{ type: 'flatten' }, { type: 'dense', units: 10 }] },
      loss: 'softmaxCrossEntropy',
      optimizer: { type: 'sgd', learningRate: 0.1 },
      batchSize: 64,
      epochs: 1,
      trainers: { replicas: 2 },
      evaluation: { enabled: false },
      ...spec,
    },
  });
}

/** A job manager on fakes of every port, and the fakes. */
export function fakeCoordinator(
  options: Partial<Omit<JobManagerOptions, 'parameterServers' | 'store'>> & {
    parameterServers?: FakeParameterServers;
    store?: MemoryJobRecordStore;
  } = {},
): {
  manager: JobManager;
  clock: FakeClock;
  launcher: FakeLauncher;
  catalog: FakeCatalog;
  ps: FakeParameterServers;
  store: MemoryJobRecordStore;
  events: EventBus;
  /** Every event published, in order. */
  published: JobEvent[];
} {
  const clock = new FakeClock();
  const launcher = new FakeLauncher();
  const catalog = new FakeCatalog();
  const ps = options.parameterServers ?? new FakeParameterServers();
  const store = options.store ?? new MemoryJobRecordStore();
  const published: JobEvent[] = [];
  const events = new EventBus({ sink: (e) => published.push(e) });
  const manager = new JobManager({
    launcher,
    catalog,
    events,
    logger: silentLogger(),
    loaderAddress: 'loader:1',
    psAddresses: ['ps-0:1', 'ps-1:1'],
    coordinatorAddress: () => 'coordinator:1',
    clock,
    ...options,
    parameterServers: ps,
    store,
  });
  return { manager, clock, launcher, catalog, ps, store, events, published };
}

/** States a job went through, from its `state` events. */
export function statesOf(published: readonly JobEvent[], jobId: string): string[] {
  return published.filter((e) => e.jobId === jobId && e.event === 'state').map((e) => String(e.state?.state));
}

/** A worker's heartbeat as the gRPC service passes it on. */
export function beat(
  jobId: string,
  role: 'trainer' | 'evaluator',
  rank: number,
  fields: { status?: string; globalStep?: number; samplesPerSecond?: number; metricsPort?: number } = {},
): HeartbeatRequest__Output {
  const step = fields.globalStep;
  return {
    jobId,
    role,
    rank,
    status: fields.status ?? 'running',
    message: '',
    backend: '',
    metricsPort: fields.metricsPort ?? 0,
    progress:
      step === undefined
        ? null
        : {
            epoch: 0,
            stepInEpoch: step,
            stepsPerEpoch: 10,
            globalStep: step,
            totalSteps: 10,
            loss: 1,
            samplesPerSecond: fields.samplesPerSecond ?? 100,
            learningRate: 0,
          },
  };
}

/** The id of a submitted job (the wire `Job` has every field optional). */
export function idOf(job: Job): string {
  if (!job.id) throw new Error('the job has no id');
  return job.id;
}
