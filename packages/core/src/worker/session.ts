import { Heartbeat } from './heartbeat.ts';
import type { Logger } from '../logger.ts';
import { ModelRuntime } from '../model/model-runtime.ts';
import { selectBackend } from '../model/backend.ts';
import { ParameterClient } from '../ps/ps-client.ts';
import { dataLoaderClient } from '../proto.ts';
import { LOADER_CHANNEL_OPTIONS } from '../datasets/batch-stream.ts';
import type { DataLoaderServiceClient } from '../generated/distrain/v1/DataLoaderService.ts';
import type { WorkerConfig } from '../worker-config.ts';

/** What a trainer or the evaluator works with: backend, model, clients, and the coordinator link. */
export interface WorkerSession {
  backend: string;
  runtime: ModelRuntime;
  ps: ParameterClient;
  loader: DataLoaderServiceClient;
  heartbeat: Heartbeat;
  /** Releases every client and the model's tensors. */
  close(): void;
}

/**
 * Sets up a worker from its config: selects and logs the compute backend, builds the model runtime
 * from the spec, and opens the parameter-server, data-loader and coordinator clients. The heartbeat
 * is created but not started: the worker starts it when it is ready to make progress.
 */
export async function openWorkerSession(
  config: WorkerConfig,
  logger: Logger,
  options: { metricsPort?: number } = {},
): Promise<WorkerSession> {
  const { job, dataset } = config;
  const chosen = await selectBackend(job.spec.trainers.backend, {
    gpus: config.role === 'trainer' ? job.spec.trainers.gpus : 0,
  });
  if (config.role === 'trainer' && job.spec.trainers.gpus > 0 && chosen.backend !== 'tensorflow')
    logger.warn(
      { backend: chosen.backend },
      'spec.trainers.gpus is set but spec.trainers.backend runs on the CPU',
    );
  logger.info({ backend: chosen.backend, reason: chosen.reason }, 'compute backend');
  const heartbeat = new Heartbeat(config, logger);
  heartbeat.backend = chosen.backend;
  heartbeat.metricsPort = options.metricsPort ?? 0;
  const runtime = new ModelRuntime({
    layers: job.spec.model.layers,
    loss: job.spec.loss,
    inputShape: dataset.featureShape,
    numClasses: dataset.numClasses,
    featureScale: dataset.featureScale,
    dropoutSeed: job.spec.seed,
    // A trainer applying its own steps (the only rank: OwnSteps.eligible) pushes the gradient arrays
    // while the next step computes; with more ranks one set is enough.
    gradientBuffers: config.role === 'trainer' && config.worldSize === 1 ? 2 : 1,
  });
  const ps = new ParameterClient({
    jobId: config.jobId,
    shardAddresses: config.psShards,
    variables: runtime.variables,
    // Short: a push lost with a killed shard ends here and is retried on the restarted one.
    timeoutMs: 10_000,
    dataPlane: config.dataPlane ?? 'zmq',
    ...(config.token ? { token: config.token } : {}),
  });
  const loader = dataLoaderClient(config.loader, LOADER_CHANNEL_OPTIONS);
  return {
    backend: chosen.backend,
    runtime,
    ps,
    loader,
    heartbeat,
    close: () => {
      heartbeat.close();
      ps.close();
      loader.close();
      runtime.dispose();
    },
  };
}
