/** Coordinator: wiring only (config from flags/env, services, shutdown on SIGTERM). */
import {
  NatsJobStore,
  createCoordinatorMetrics,
  createLogger,
  createRoleRegistry,
  onShutdown,
  parsePort,
  serviceFlags,
  startGrpcServer,
  startMetricsServer,
} from '@distrain/core';
import type { CoordinatorMetrics } from '@distrain/core';
import { exportLayersModel } from './export.ts';
import { EventBus } from './event-bus.ts';
import { JobManager } from './job-manager.ts';
import { LocalLauncher } from './local-launcher.ts';
import { coordinatorServices } from './job-service.ts';

const flags = serviceFlags(process.argv.slice(2), process.env, {
  host: { env: 'DISTRAIN_HOST', default: '127.0.0.1' },
  port: { env: 'DISTRAIN_COORDINATOR_PORT', default: '0' },
  loader: { env: 'DISTRAIN_LOADER_ADDRESS' },
  ps: { env: 'DISTRAIN_PS_ADDRESSES' },
  advertise: { env: 'DISTRAIN_COORDINATOR_ADVERTISE' },
  'log-level': { env: 'DISTRAIN_LOG_LEVEL', default: 'info' },
  // NATS server: job events go to JetStream, job records to a KV bucket (a restart keeps every job).
  nats: { env: 'DISTRAIN_NATS_URL' },
  // Prometheus /metrics (and /sd/workers, the workers' endpoints for http_sd_configs); 0 = any free port.
  'metrics-port': { env: 'DISTRAIN_METRICS_PORT' },
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
  // `true`: act as the TrainingJob operator (crd-operator.ts) in --namespace, with --kubeconfig or in-cluster config.
  'watch-crds': { env: 'DISTRAIN_WATCH_CRDS', default: 'false' },
});
const logger = createLogger({ role: 'coordinator', level: flags['log-level'] ?? 'info' });
if (!flags.loader || !flags.ps) {
  logger.fatal('--loader HOST:PORT and --ps HOST:PORT[,HOST:PORT...] are required');
  process.exit(2);
}
if (flags.launcher !== 'local' && flags.launcher !== 'kubernetes') {
  logger.fatal(`--launcher must be local or kubernetes, got ${flags.launcher}`);
  process.exit(2);
}
if (flags['watch-crds'] !== 'true' && flags['watch-crds'] !== 'false') {
  logger.fatal(`--watch-crds must be true or false, got ${flags['watch-crds']}`);
  process.exit(2);
}
const registry = createRoleRegistry();
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
    store = await NatsJobStore.connect({ url: flags.nats, logger, onError: (op) => metrics.natsError(op) });
  } catch (err) {
    logger.fatal({ err }, `cannot use NATS at ${flags.nats}: ${(err as Error).message}`);
    process.exit(1);
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
const host = flags.host ?? '127.0.0.1';
const port = parsePort(flags.port, 'port');
let advertise = flags.advertise ?? '';
const manager: JobManager = new JobManager({
  // Loaded only when asked for: @kubernetes/client-node takes seconds to import.
  launcher:
    flags.launcher === 'kubernetes'
      ? (await import('./k8s-launcher.ts')).kubernetesLauncherFromFlags(flags, logger)
      : new LocalLauncher({
          logger,
          onLog: (c, line) => {
            manager.workerLog(c.jobId, `${c.role}-${c.rank}`, line);
            // Verbose runs show the workers' own logs among the coordinator's.
            if (logger.isLevelEnabled('info')) process.stderr.write(`${line}\n`);
          },
        }),
  events,
  logger,
  loaderAddress: flags.loader,
  psAddresses: flags.ps.split(',').filter((s) => s !== ''),
  coordinatorAddress: () => advertise,
  metrics,
  ...(store ? { store, keepJobsOnClose: flags.launcher !== 'local' } : {}),
  ...(flags['worker-metrics-port'] === 'off'
    ? {}
    : {
        workerMetrics: {
          host: flags['worker-metrics-host'] ?? (flags.launcher === 'kubernetes' ? '0.0.0.0' : host),
          port: parsePort(flags['worker-metrics-port'], 'worker-metrics-port'),
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
const metricsServer =
  flags['metrics-port'] === undefined
    ? undefined
    : await startMetricsServer({
        registry,
        host,
        port: parsePort(flags['metrics-port'], 'metrics-port'),
        routes: { '/sd/workers': () => manager.scrapeTargets() },
      });
const server = await startGrpcServer({
  address: `${host}:${port}`,
  logger,
  services: coordinatorServices(
    manager,
    events,
    (i) => exportLayersModel(i.job, i.dataset, i.params),
    logger,
  ),
});
if (advertise === '') advertise = server.address;
process.stdout.write(
  `${JSON.stringify({ event: 'listening', port: server.port, address: server.address, ...(metricsServer ? { metricsPort: metricsServer.port } : {}) })}\n`,
);
onShutdown(async () => {
  await operator?.stop();
  await manager.close();
  await server.shutdown();
  await metricsServer?.close();
  await store?.close();
});
