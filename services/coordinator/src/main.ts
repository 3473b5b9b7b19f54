/**
 * Coordinator: wiring only, through the shared service bootstrap (`@distrain/core/service`: common
 * flags --host/--port/--metrics-port/--log-level with the same env names as every role, listening
 * line, graceful SIGTERM/SIGINT).
 */
import { DEFAULT_JOB_BUDGET, LIMITS, ValidationError, startGrpcServer } from '@distrain/core';
import { createCoordinatorMetrics } from '@distrain/core/metrics';
import { FileBlobStore, NatsJobStore } from '@distrain/core/events';
import { join } from 'node:path';
import type { CoordinatorMetrics } from '@distrain/core/metrics';
import { intFlag, runService } from '@distrain/core/service';
import type { ServiceSecurity } from '@distrain/core/service';
import type { AccessRules } from '@distrain/core';
import type { WorkerSecurity } from './jobs/supervisor.ts';
import { exportLayersModel } from './export.ts';
import { EventBus } from './event-bus.ts';
import { JobManager } from './job-manager.ts';
import { JobResults } from './jobs/results.ts';
import { LocalLauncher } from './local-launcher.ts';
import { coordinatorServices } from './job-service.ts';
import { grpcPorts } from './wiring.ts';

/** Users call the JobService with the deployment token; workers call the WorkerService with their job's credential. */
const COORDINATOR_ACCESS: AccessRules = {
  'distrain.v1.JobService': 'service',
  'distrain.v1.WorkerService': 'job',
};

/** What workers get: their job's credential, and the TLS material of this coordinator's own calls. */
function workerSecurity(security: ServiceSecurity): WorkerSecurity {
  const pem = (p: string | Buffer | undefined): string | undefined =>
    p === undefined ? undefined : p.toString();
  const t = security.client.tls;
  const tls = t
    ? {
        ...(t.ca ? { ca: pem(t.ca) } : {}),
        ...(t.cert ? { cert: pem(t.cert) } : {}),
        ...(t.key ? { key: pem(t.key) } : {}),
      }
    : undefined;
  return { credential: (jobId) => security.authenticator.jobCredential(jobId), ...(tls ? { tls } : {}) };
}

await runService({
  role: 'coordinator',
  envAliases: { port: 'DISTRAIN_COORDINATOR_PORT' },
  flags: {
    loader: { env: 'DISTRAIN_LOADER_ADDRESS', help: 'data-loader HOST:PORT (required)' },
    ps: { env: 'DISTRAIN_PS_ADDRESSES', help: 'parameter-server shards HOST:PORT[,HOST:PORT...] (required)' },
    advertise: {
      env: 'DISTRAIN_COORDINATOR_ADVERTISE',
      help: 'address workers use to reach this coordinator',
    },
    // NATS server: job events go to JetStream, job records to a KV bucket (a restart keeps every job).
    nats: { env: 'DISTRAIN_NATS_URL' },
    // Where launched trainers/evaluators serve /metrics: 0 = any free port (reported in heartbeats), `off` = none.
    'worker-metrics-port': { env: 'DISTRAIN_WORKER_METRICS_PORT', default: '0' },
    'worker-metrics-host': { env: 'DISTRAIN_WORKER_METRICS_HOST' },
    // Where workers run: `local` child processes, or `kubernetes` Pods (in-cluster config in a pod, else --kubeconfig/KUBECONFIG).
    launcher: { env: 'DISTRAIN_LAUNCHER', default: 'local' },
    kubeconfig: { env: 'KUBECONFIG' },
    namespace: { env: 'DISTRAIN_NAMESPACE' },
    instance: { env: 'DISTRAIN_INSTANCE' },
    'worker-template': { env: 'DISTRAIN_WORKER_TEMPLATE' },
    'gpu-worker-template': { env: 'DISTRAIN_GPU_WORKER_TEMPLATE' },
    // Transport of the workers' PushPull and Pull: zmq (the shards' ZeroMQ data plane) or grpc.
    'data-plane': { env: 'DISTRAIN_DATA_PLANE', default: 'zmq', help: 'zmq|grpc' },
    // Files of ended jobs' final artifacts (parameters, predictions) when there is no NATS (with NATS: its Object Store).
    'state-dir': { env: 'DISTRAIN_STATE_DIR' },
    // Most ended jobs kept in memory; older ones are answered from NATS (records, events, artifacts).
    'max-ended-jobs': { env: 'DISTRAIN_MAX_ENDED_JOBS', default: '100' },
    // How long workers keep going with the coordinator unreachable (then exit: orphans) and keep
    // reconnecting to an unreachable data-loader (then fail and are restarted). Defaults: 15 s (2 min
    // with the Kubernetes launcher, so a restarted coordinator pod can re-adopt them) and 60 s.
    'worker-coordinator-loss-ms': { env: 'DISTRAIN_WORKER_COORDINATOR_LOSS_MS' },
    'worker-loader-retry-ms': { env: 'DISTRAIN_WORKER_LOADER_RETRY_MS', default: '60000' },
    // `true`: act as the TrainingJob operator (crd-operator.ts) in --namespace, with --kubeconfig or in-cluster config.
    'watch-crds': { env: 'DISTRAIN_WATCH_CRDS', default: 'false', help: 'true|false' },
    // Resource budgets of one job, checked at submit without building the model.
    'max-parameters': { env: 'DISTRAIN_MAX_PARAMETERS', default: String(DEFAULT_JOB_BUDGET.maxParameters) },
    'max-layers': { env: 'DISTRAIN_MAX_LAYERS', default: String(DEFAULT_JOB_BUDGET.maxLayers) },
    'max-replicas': { env: 'DISTRAIN_MAX_REPLICAS', default: String(DEFAULT_JOB_BUDGET.maxReplicas) },
    'max-epochs': { env: 'DISTRAIN_MAX_EPOCHS', default: String(DEFAULT_JOB_BUDGET.maxEpochs) },
    'max-batch-size': { env: 'DISTRAIN_MAX_BATCH_SIZE', default: String(DEFAULT_JOB_BUDGET.maxBatchSize) },
  },
  async start({ flags, logger, registry, host, address, security }) {
    if (!flags.loader) throw new ValidationError('--loader', 'is required: the data-loader HOST:PORT');
    if (!flags.ps)
      throw new ValidationError('--ps', 'is required: the parameter-server shards HOST:PORT[,HOST:PORT...]');
    if (flags.launcher !== 'local' && flags.launcher !== 'kubernetes') {
      throw new ValidationError('--launcher', `must be local or kubernetes, got ${flags.launcher}`);
    }
    const dataPlane = flags['data-plane'] ?? 'zmq';
    if (dataPlane !== 'zmq' && dataPlane !== 'grpc') {
      throw new ValidationError('--data-plane', `must be grpc or zmq, got "${dataPlane}"`);
    }
    if (flags['watch-crds'] !== 'true' && flags['watch-crds'] !== 'false') {
      throw new ValidationError('--watch-crds', `must be true or false, got ${flags['watch-crds']}`);
    }
    const maxEndedJobs = intFlag(flags['max-ended-jobs'], 'max-ended-jobs', 0, 1_000_000);
    const workerMetricsPort =
      flags['worker-metrics-port'] === 'off'
        ? undefined
        : intFlag(flags['worker-metrics-port'], 'worker-metrics-port', 0, 65_535);
    const workerLimits = {
      coordinatorLossMs: intFlag(
        flags['worker-coordinator-loss-ms'] ?? (flags.launcher === 'kubernetes' ? '120000' : '15000'),
        'worker-coordinator-loss-ms',
        1_000,
        86_400_000,
      ),
      loaderRetryBudgetMs: intFlag(
        flags['worker-loader-retry-ms'],
        'worker-loader-retry-ms',
        1_000,
        86_400_000,
      ),
    };
    // Assigned once the manager exists; the jobs gauge reads it at scrape time.
    let jobsByState: () => ReturnType<JobManager['countByState']> = () => ({
      pending: 0,
      running: 0,
      succeeded: 0,
      failed: 0,
      cancelled: 0,
    });
    const metrics: CoordinatorMetrics = createCoordinatorMetrics(registry, () => jobsByState());
    let store: NatsJobStore | undefined;
    if (flags.nats) {
      try {
        store = await NatsJobStore.connect({
          url: flags.nats,
          logger,
          onError: (op) => metrics.natsError(op),
        });
      } catch (err) {
        throw new Error(`cannot use NATS at ${flags.nats}: ${(err as Error).message}`, { cause: err });
      }
    }
    const events = new EventBus({
      sink: (e) => {
        metrics.event(e.event ?? 'log');
        store?.publish(e);
      },
    });
    if (store) {
      const history = await store.loadHistory();
      events.restore(history.events, history.lastSequence);
      logger.info(
        { nats: store.server, events: history.events.length, lastSequence: history.lastSequence },
        'job events restored from JetStream',
      );
    }
    // Ended jobs' final artifacts: the NATS Object Store, else files under --state-dir, else memory only.
    const blobs = store
      ? await store.blobStore()
      : flags['state-dir']
        ? new FileBlobStore(join(flags['state-dir'], 'results'))
        : undefined;
    const results = blobs ? new JobResults(blobs) : undefined;
    if (results) logger.info({ results: results.location }, 'final job artifacts are kept durably');
    let advertise = flags.advertise ?? '';
    // The gRPC clients of the data-loader and the parameter servers, injected into the job manager.
    const ports = grpcPorts({ loaderAddress: flags.loader });
    const manager: JobManager = new JobManager({
      // Loaded only when asked for: @kubernetes/client-node takes seconds to import.
      launcher:
        flags.launcher === 'kubernetes'
          ? (await import('./k8s-launcher-flags.ts')).kubernetesLauncherFromFlags(flags, logger)
          : new LocalLauncher({
              logger,
              onLog: (c, line) => {
                manager.workerLog(c.jobId, `${c.role}-${c.rank}`, line);
                // Verbose runs show the workers' own logs among the coordinator's.
                if (logger.isLevelEnabled('info')) process.stderr.write(`${line}\n`);
              },
            }),
      catalog: ports.catalog,
      parameterServers: ports.parameterServers,
      events,
      logger,
      loaderAddress: flags.loader,
      psAddresses: flags.ps.split(',').filter((s) => s !== ''),
      coordinatorAddress: () => advertise,
      metrics,
      dataPlane,
      maxEndedJobs,
      ...(results ? { results } : {}),
      workerSecurity: workerSecurity(security),
      workerLimits,
      budget: {
        maxParameters: intFlag(flags['max-parameters'], 'max-parameters', 1, 2 ** 31),
        maxLayers: intFlag(flags['max-layers'], 'max-layers', 1, 4096),
        maxReplicas: intFlag(flags['max-replicas'], 'max-replicas', 1, LIMITS.maxWorldSize),
        maxEpochs: intFlag(flags['max-epochs'], 'max-epochs', 1, 10_000),
        maxBatchSize: intFlag(flags['max-batch-size'], 'max-batch-size', 1, 65_536),
      },
      ...(store ? { store, keepJobsOnClose: flags.launcher !== 'local' } : {}),
      ...(workerMetricsPort === undefined
        ? {}
        : {
            workerMetrics: {
              host: flags['worker-metrics-host'] ?? (flags.launcher === 'kubernetes' ? '0.0.0.0' : host),
              port: workerMetricsPort,
            },
          }),
    });
    jobsByState = () => manager.countByState();
    // Jobs a previous coordinator left: re-adopted or failed with a reason, before anyone can ask.
    if (store) await manager.restore(await store.loadJobs());
    // TrainingJob resources run through the manager's public methods, like gRPC submissions.
    const operator =
      flags['watch-crds'] === 'true'
        ? (await import('./crd-operator.ts')).crdOperatorFromFlags(flags, manager, logger)
        : undefined;
    await operator?.start();
    const server = await startGrpcServer({
      address,
      logger,
      auth: { authenticator: security.authenticator, rules: COORDINATOR_ACCESS },
      ...(security.tls ? { tls: security.tls } : {}),
      services: coordinatorServices(
        manager,
        events,
        (i) => exportLayersModel(i.job, i.dataset, i.params),
        logger,
      ),
    });
    if (advertise === '') advertise = server.address;
    return {
      port: server.port,
      listening: { address: server.address },
      metricsRoutes: { '/sd/workers': () => manager.scrapeTargets() },
      // The local stack (`distrain up`/`run`) says when it restarted a service: every active job's events.
      onParentNotice: (n) => manager.serviceNotice(n.level, n.message),
      shutdown: async () => {
        await operator?.stop();
        await manager.close();
        ports.close();
        await server.shutdown();
        await store?.close();
      },
    };
  },
});
