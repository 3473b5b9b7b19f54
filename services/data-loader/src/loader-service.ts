import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerWritableStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  AbortedError,
  LIMITS,
  OverloadError,
  ValidationError,
  checkId,
  checkInt,
  clip,
  toGrpcStatus,
  unaryHandler,
} from '@distrain/core';
import type { StatusObject } from '@distrain/core';
import { DEFAULT_MAX_MESSAGE_BYTES, distrainProto } from '@distrain/core';
import { startGrpcServer } from '@distrain/core';
import type {
  AccessRules,
  Authenticator,
  RunningGrpcServer,
  ServerTls,
  ServiceBinding,
} from '@distrain/core';
import { silentLogger } from '@distrain/core';
import type { Logger } from '@distrain/core';
import { epochOrder, rankSlice, stepsPerEpoch, validateBatchGeometry } from '@distrain/core';
import { loadDataset, resolveDatasetSpec } from '@distrain/core/datasets';
import type { Dataset } from '@distrain/core/datasets';
import type { DescribeDatasetRequest__Output } from '@distrain/core';
import type { DescribeDatasetResponse } from '@distrain/core';
import type { ReleaseJobRequest__Output } from '@distrain/core';
import type { ReleaseJobResponse } from '@distrain/core';
import type { StreamBatchesRequest__Output } from '@distrain/core';
import { featureSource, maxEncodedBytes, WIRE_DTYPE } from './batch-encoder.ts';
import { PendingBatch, serializePending } from './pending-batch.ts';
import type { EncodeLayout } from './batch-encoder.ts';

/** Fully-qualified name of the service (health checks, reflection). */
export const DATA_LOADER_SERVICE_NAME = 'distrain.v1.DataLoaderService';

/** What the `onBatch` hook learns about every batch sent (wire metrics hang off it). */
export interface BatchSentInfo {
  jobId: string;
  split: 'train' | 'test';
  rank: number;
  step: number;
  samples: number;
  /** Encoded message size. */
  bytes: number;
}

/** Options of {@link createLoaderService}. */
export interface LoaderServiceOptions {
  /** Largest message the server sends; a batch that would not fit is refused up front. @default 64 MiB */
  maxMessageBytes?: number;
  logger?: Logger;
  /** Called after every batch is handed to gRPC (metrics hook). Must not throw. */
  onBatch?: (info: BatchSentInfo) => void;
  /** Called when a job is released (metrics drop its series). Must not throw. */
  onRelease?: (jobId: string) => void;
  /** Dataset source. @default loadDataset (the process-wide cache) */
  loadDataset?: (spec: NonNullable<StreamBatchesRequest__Output['dataset']>) => Promise<Dataset>;
}

/** One open StreamBatches call. */
interface OpenStream {
  jobId: string;
  /** Batches written and not yet flushed to the network. */
  queued(): number;
  /** Ends the call with `err` as its status and stops producing. */
  abort(err: unknown): void;
}

/** The DataLoaderService implementation plus the bookkeeping tests and main.ts need. */
export interface LoaderService {
  /** Binding for {@link startGrpcServer}. */
  binding: ServiceBinding;
  /** Open StreamBatches calls, of one job or of all jobs. */
  openStreams(jobId?: string): number;
  /** Batches written to open streams and not yet flushed (gRPC send buffers), over all streams. */
  queuedBatches(): number;
  /**
   * Ends every open stream with UNAVAILABLE (shutdown): clients reconnect, to this loader once it
   * is back or to another replica, and resume from their next step.
   */
  closeAll(reason: string): void;
}

const SPLITS = { SPLIT_TRAIN: 'train', SPLIT_TEST: 'test' } as const;

/**
 * The service definition with one change: StreamBatches responses written as {@link PendingBatch}
 * plans are encoded by the hand-written encoder; anything else is serialized by protobufjs as usual.
 */
function definition(): ServiceDefinition {
  const def = distrainProto().DataLoaderService.service;
  const stream = def.StreamBatches;
  if (!stream) throw new Error('DataLoaderService has no StreamBatches method');
  const serialize = stream.responseSerialize;
  return {
    ...def,
    StreamBatches: {
      ...stream,
      responseSerialize: (value: Parameters<typeof serialize>[0] | PendingBatch) =>
        value instanceof PendingBatch ? serializePending(value) : serialize(value),
    },
  };
}

/**
 * An error that {@link toGrpcStatus} passes through as UNAVAILABLE (it has the shape of a grpc-js
 * ServiceError): the one status no distrain error class maps to, used when the loader goes away.
 */
function unavailable(message: string): Error {
  return Object.assign(new Error(message), {
    code: GrpcStatus.UNAVAILABLE,
    details: message,
    metadata: new Metadata(),
  });
}

/** Creates the DataLoaderService: DescribeDataset, StreamBatches (with flow control), ReleaseJob. */
export function createLoaderService(options: LoaderServiceOptions = {}): LoaderService {
  const logger = options.logger ?? silentLogger();
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const load = options.loadDataset ?? loadDataset;
  const onBatch = options.onBatch;
  const streams = new Map<string, Set<OpenStream>>();
  const logInternal = (err: unknown): void => logger.error({ err }, 'data-loader internal error');
  const status = (err: unknown): StatusObject => toGrpcStatus(err, logInternal);

  function track(s: OpenStream): () => void {
    let set = streams.get(s.jobId);
    if (!set) streams.set(s.jobId, (set = new Set()));
    set.add(s);
    return () => {
      set.delete(s);
      if (set.size === 0 && streams.get(s.jobId) === set) streams.delete(s.jobId);
    };
  }

  /** Characters of each test text DescribeDataset returns (for predictions). */
  const TEST_TEXT_CHARS = 80;

  const describe = unaryHandler(
    async (request: DescribeDatasetRequest__Output): Promise<DescribeDatasetResponse> => {
      resolveDatasetSpec(request.dataset);
      const ds = await load(request.dataset as NonNullable<typeof request.dataset>);
      return {
        datasetId: ds.id,
        trainCount: ds.train.count,
        testCount: ds.test.count,
        featureShape: ds.featureShape,
        featureDtype:
          ds.featureDtype === 'uint8'
            ? 'DTYPE_UINT8'
            : ds.featureDtype === 'int32'
              ? 'DTYPE_INT32'
              : 'DTYPE_FLOAT32',
        numClasses: ds.numClasses,
        classNames: ds.classNames,
        featureScale: ds.featureScale,
        ...(ds.text === undefined
          ? {}
          : {
              vocabularySize: ds.text.vocabulary.length,
              textStatsJson: JSON.stringify(ds.text.stats),
              ...(request.includeText
                ? {
                    vocabulary: [...ds.text.vocabulary],
                    testTexts: (ds.test.texts ?? []).map((t) => t.slice(0, TEST_TEXT_CHARS)),
                  }
                : {}),
            }),
      };
    },
    { logger },
  );

  const release = unaryHandler(
    (request: ReleaseJobRequest__Output): ReleaseJobResponse => {
      const jobId = request.jobId;
      if (jobId === '') throw new ValidationError('job_id', 'is required');
      checkId('job_id', jobId);
      const open = [...(streams.get(jobId) ?? [])];
      for (const s of open)
        s.abort(new AbortedError(`job ${jobId} was released; its streams are cancelled`, { jobId }));
      if (open.length > 0) logger.info({ jobId, cancelled: open.length }, 'job released');
      options.onRelease?.(jobId);
      return { cancelledStreams: open.length };
    },
    { logger },
  );

  function streamBatchesHandler(
    call: ServerWritableStream<StreamBatchesRequest__Output, PendingBatch>,
  ): void {
    const req = call.request;
    let stopped = false;
    let wake: (() => void) | null = null;
    const stop = (): void => {
      stopped = true;
      wake?.();
    };
    const entry: OpenStream = {
      jobId: req.jobId,
      queued: () => call.writableLength,
      abort: (err) => {
        if (stopped) return;
        stop();
        call.emit('error', status(err));
      },
    };
    const untrack = track(entry);
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);

    const produce = async (): Promise<void> => {
      if (req.jobId === '') throw new ValidationError('job_id', 'is required');
      checkId('job_id', req.jobId);
      if (req.split !== 'SPLIT_TRAIN' && req.split !== 'SPLIT_TEST') {
        throw new ValidationError(
          'split',
          `must be SPLIT_TRAIN or SPLIT_TEST, got ${clip(String(req.split))}`,
        );
      }
      const splitName = SPLITS[req.split];
      checkInt('world_size', req.worldSize, 1, LIMITS.maxWorldSize);
      checkInt('global_batch_size', req.globalBatchSize, 1, LIMITS.maxSampleCount);
      checkInt('epoch', req.epoch, 0, LIMITS.maxEpochs);
      if (req.rank >= req.worldSize)
        throw new ValidationError(
          'rank',
          `is ${req.rank} but world_size is ${req.worldSize}; ranks are 0..${req.worldSize - 1}`,
        );
      if (req.globalBatchSize < 1) throw new ValidationError('global_batch_size', 'must be at least 1');
      if (req.worldSize > req.globalBatchSize) {
        throw new ValidationError(
          'world_size',
          `is ${req.worldSize} but global_batch_size is ${req.globalBatchSize}; every rank needs at least one sample per batch`,
        );
      }
      resolveDatasetSpec(req.dataset);
      const ds = await load(req.dataset as NonNullable<typeof req.dataset>);
      if (stopped) return;
      const split = ds[splitName];
      validateBatchGeometry({
        count: split.count,
        globalBatchSize: req.globalBatchSize,
        rank: req.rank,
        worldSize: req.worldSize,
        startStep: req.startStep,
        endStep: req.endStep,
      });
      const steps = stepsPerEpoch(split.count, req.globalBatchSize);
      const end = req.endStep === 0 ? steps : req.endStep;
      const layout: EncodeLayout = {
        split,
        featureShape: ds.featureShape,
        featureWireDType: WIRE_DTYPE[ds.featureDtype],
        source: featureSource(split),
        labelWireDType: WIRE_DTYPE[ds.labelDtype],
      };
      const biggest = rankSlice(req.globalBatchSize, req.rank, req.worldSize).count;
      const need = maxEncodedBytes(layout, biggest, {
        epoch: req.epoch,
        step: steps,
        stepsInEpoch: steps,
        globalBatchSize: req.globalBatchSize,
        offset: 0,
      });
      if (need > maxMessageBytes) {
        throw new OverloadError(
          `global_batch_size: a slice of ${biggest} samples needs up to ${need} bytes, over the data-loader's max message size of ${maxMessageBytes} bytes; use a smaller global_batch_size or more ranks, or raise --max-message-bytes`,
          { jobId: req.jobId, field: 'global_batch_size' },
        );
      }
      const order = epochOrder(split.count, splitName, req.seed, req.epoch);
      for (let step = req.startStep; step < end && !stopped; step++) {
        const gStart = step * req.globalBatchSize;
        const gCount = Math.min(req.globalBatchSize, split.count - gStart);
        const slice = rankSlice(gCount, req.rank, req.worldSize);
        // Encoded later, by the response serializer, when gRPC actually sends it (pending-batch.ts).
        const msg = new PendingBatch(
          layout,
          { epoch: req.epoch, step, stepsInEpoch: steps, globalBatchSize: gCount, offset: slice.offset },
          order,
          gStart + slice.offset,
          slice.count,
        );
        const writable = call.write(msg);
        onBatch?.({
          jobId: req.jobId,
          split: splitName,
          rank: req.rank,
          step,
          samples: slice.count,
          bytes: msg.bytes,
        });
        if (!writable && !stopped) {
          // Flow control: produce nothing more until gRPC has flushed what it holds.
          await new Promise<void>((resolve) => {
            wake = resolve;
            call.once('drain', resolve);
          });
          wake = null;
        }
      }
      if (!stopped) call.end();
    };

    produce().then(
      () => untrack(),
      (err: unknown) => {
        untrack();
        if (!stopped) {
          stopped = true;
          call.emit('error', status(err));
        }
      },
    );
  }

  const implementation: UntypedServiceImplementation = {
    DescribeDataset: describe,
    StreamBatches: streamBatchesHandler,
    ReleaseJob: release,
  };

  return {
    binding: { name: DATA_LOADER_SERVICE_NAME, definition: definition(), implementation },
    openStreams: (jobId) => {
      if (jobId !== undefined) return streams.get(jobId)?.size ?? 0;
      let n = 0;
      for (const set of streams.values()) n += set.size;
      return n;
    },
    queuedBatches: () => {
      let n = 0;
      for (const set of streams.values()) for (const s of set) n += s.queued();
      return n;
    },
    closeAll: (reason) => {
      for (const set of [...streams.values()]) for (const s of [...set]) s.abort(unavailable(reason));
    },
  };
}

/** Options of {@link startLoaderServer}. */
export interface LoaderServerOptions extends LoaderServiceOptions {
  /** Address to bind. @default '127.0.0.1:0' */
  address?: string;
  /** Credential checks ({@link LOADER_ACCESS} rules) and TLS. @default none: plaintext, every call accepted */
  security?: { authenticator: Authenticator; tls?: ServerTls };
}

/**
 * Who may call what: a job's workers stream that job's batches (the job credential); describing
 * datasets and releasing jobs is the coordinator's (the deployment token).
 */
export const LOADER_ACCESS: AccessRules = {
  'distrain.v1.DataLoaderService': 'service',
  'distrain.v1.DataLoaderService/StreamBatches': 'job',
};

/** A running data-loader: the gRPC server and the service behind it. */
export interface RunningLoader {
  server: RunningGrpcServer;
  service: LoaderService;
  /** Ends open streams, then shuts the server down gracefully. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Starts a data-loader gRPC server (with health and reflection) on `address`. */
export async function startLoaderServer(options: LoaderServerOptions = {}): Promise<RunningLoader> {
  const service = createLoaderService(options);
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const server = await startGrpcServer({
    services: [service.binding],
    address: options.address ?? '127.0.0.1:0',
    maxMessageBytes,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.security
      ? {
          auth: { authenticator: options.security.authenticator, rules: LOADER_ACCESS },
          ...(options.security.tls ? { tls: options.security.tls } : {}),
        }
      : {}),
  });
  return {
    server,
    service,
    shutdown: async (graceMs = 5_000) => {
      service.closeAll('the data-loader is shutting down');
      await server.shutdown(graceMs);
    },
  };
}
