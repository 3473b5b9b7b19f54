import { status as GrpcStatus } from '@grpc/grpc-js';
import { UnavailableError, dataLoaderClient, datasetSpecToWire, isServiceError, unary } from '@distrain/core';
import { ParameterClient } from '@distrain/core/ps';
import type { DataLoaderServiceClient, DatasetInfo } from '@distrain/core';
import type { DatasetCatalog, DescribedDataset, ParameterServerAdmin } from './ports.ts';

/** The gRPC implementations of the coordinator's ports, built once in `main.ts`. */
export interface GrpcPorts {
  catalog: DatasetCatalog;
  parameterServers: ParameterServerAdmin;
  /** Closes the data-loader channel (the per-job parameter-server clients close with their jobs). */
  close(): void;
}

/** Options of {@link grpcPorts}. */
export interface GrpcPortsOptions {
  /** host:port of the data-loader. */
  loaderAddress: string;
  /** Deadline of calls to the data-loader and parameter servers. @default 30000 */
  rpcTimeoutMs?: number;
}

/** The dataset catalog (data-loader) and parameter-server admin over gRPC. */
export function grpcPorts(options: GrpcPortsOptions): GrpcPorts {
  const timeoutMs = options.rpcTimeoutMs ?? 30_000;
  const loader: DataLoaderServiceClient = dataLoaderClient(options.loaderAddress);
  const catalog: DatasetCatalog = {
    async describe(dataset): Promise<DescribedDataset> {
      const res = await unary(
        loader,
        loader.describeDataset,
        { dataset: datasetSpecToWire(dataset), includeText: true },
        { timeoutMs, retries: 3 },
      ).catch((err: unknown) => {
        // Not the dataset's fault: the loader is down or restarting (UNAVAILABLE for the caller).
        if (isServiceError(err) && err.code === GrpcStatus.UNAVAILABLE)
          throw new UnavailableError(
            `data-loader at ${options.loaderAddress} unreachable (${err.details}); retry when it is back`,
            { cause: err },
          );
        throw err;
      });
      const text = res.featureDtype === 'DTYPE_INT32';
      const info: DatasetInfo = {
        datasetId: res.datasetId,
        trainCount: res.trainCount,
        testCount: res.testCount,
        featureShape: res.featureShape,
        featureDtype: res.featureDtype === 'DTYPE_UINT8' ? 'uint8' : text ? 'int32' : 'float32',
        featureScale: res.featureScale,
        numClasses: res.numClasses,
        classNames: res.classNames,
        ...(text ? { vocabularySize: res.vocabularySize } : {}),
      };
      if (!text) return info;
      return {
        ...info,
        text: { vocabulary: res.vocabulary, testTexts: res.testTexts, statsJson: res.textStatsJson },
      };
    },
    async releaseJob(jobId) {
      await unary(loader, loader.releaseJob, { jobId }, { timeoutMs: 5_000 });
    },
  };
  const parameterServers: ParameterServerAdmin = {
    forJob({ jobId, shardAddresses, variables }) {
      const ps = new ParameterClient({ jobId, shardAddresses, variables, timeoutMs });
      return {
        async init(o) {
          await ps.init(o);
        },
        ensure: (o) => ps.initEach(o),
        async pull() {
          const { params, version } = await ps.pull({});
          return { params, version };
        },
        async endJob() {
          await ps.endJob();
        },
        close: () => ps.close(),
      };
    },
  };
  return { catalog, parameterServers, close: () => loader.close() };
}
