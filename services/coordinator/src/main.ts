/** Coordinator: wiring only (config from flags/env, services, shutdown on SIGTERM). */
import { createLogger, onShutdown, parsePort, serviceFlags, startGrpcServer } from '@distrain/core';
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
});
const logger = createLogger({ role: 'coordinator', level: flags['log-level'] ?? 'info' });
if (!flags.loader || !flags.ps) {
  logger.fatal('--loader HOST:PORT and --ps HOST:PORT[,HOST:PORT...] are required');
  process.exit(2);
}
const events = new EventBus();
const host = flags.host ?? '127.0.0.1';
const port = parsePort(flags.port, 'port');
let advertise = flags.advertise ?? '';
const manager: JobManager = new JobManager({
  launcher: new LocalLauncher({
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
});
const server = await startGrpcServer({
  address: `${host}:${port}`,
  logger,
  services: coordinatorServices(manager, events, (i) => exportLayersModel(i.job, i.dataset, i.params), logger),
});
if (advertise === '') advertise = server.address;
process.stdout.write(`${JSON.stringify({ event: 'listening', port: server.port, address: server.address })}\n`);
onShutdown(async () => {
  await manager.close();
  await server.shutdown();
});
