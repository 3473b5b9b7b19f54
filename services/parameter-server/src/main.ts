/**
 * parameter-server shard entry point: wiring only. Reads flags/env once, starts the gRPC server
 * (ParameterServerService + health + reflection), prints `{"event":"listening","port":N}` on stdout so
 * a parent process can find the port, optionally serves Prometheus `/metrics`, and shuts down
 * gracefully on SIGTERM/SIGINT (waiting pushes end with ABORTED, checkpoint writes finish).
 *
 *   node --import tsx services/parameter-server/src/main.ts [--port N] [--host H] [--shard-index I]
 *        [--metrics-port M] [--max-message-bytes B] [--log-level L] [--data-plane zmq|grpc]
 *        [--data-port D]
 *
 * Env: DISTRAIN_PS_PORT, DISTRAIN_PS_HOST, DISTRAIN_PS_SHARD_INDEX (a StatefulSet pod name such as
 * `ps-2` also works), DISTRAIN_PS_METRICS_PORT, DISTRAIN_MAX_MESSAGE_BYTES, DISTRAIN_LOG_LEVEL,
 * DISTRAIN_DATA_PLANE, DISTRAIN_PS_DATA_PORT. The listening line names the data plane's port as
 * `dataPort` (ZeroMQ, PushPull and Pull; see DataPlane in parameter_server.proto).
 */
import {
  createLogger,
  createPsMetrics,
  createRoleRegistry,
  startMetricsServer,
  DEFAULT_MAX_MESSAGE_BYTES,
  parsePort,
  serviceFlags,
  startGrpcServer,
} from '@distrain/core';
import { ParameterServerService } from './ps-service.ts';
import { startZmqDataPlane } from './zmq-data-plane.ts';

const flags = serviceFlags(process.argv.slice(2), process.env, {
  port: { env: 'DISTRAIN_PS_PORT', default: '0' },
  host: { env: 'DISTRAIN_PS_HOST', default: '127.0.0.1' },
  'shard-index': { env: 'DISTRAIN_PS_SHARD_INDEX' },
  'metrics-port': { env: 'DISTRAIN_PS_METRICS_PORT' },
  'max-message-bytes': { env: 'DISTRAIN_MAX_MESSAGE_BYTES' },
  'log-level': { env: 'DISTRAIN_LOG_LEVEL', default: 'info' },
  'data-plane': { env: 'DISTRAIN_DATA_PLANE', default: 'zmq' },
  'data-port': { env: 'DISTRAIN_PS_DATA_PORT', default: '0' },
});
const dataPlane = flags['data-plane'] ?? 'zmq';
if (dataPlane !== 'zmq' && dataPlane !== 'grpc') {
  process.stderr.write(`parameter-server: --data-plane must be grpc or zmq, got "${dataPlane}"\n`);
  process.exit(2);
}

const port = parsePort(flags.port, '--port');
const host = flags.host ?? '127.0.0.1';
// `ps-2` (a StatefulSet pod name) or `2`; unset: the shard accepts whatever index InitJob names.
const shardMatch = flags['shard-index'] === undefined ? undefined : /(\d+)$/.exec(flags['shard-index']);
if (flags['shard-index'] !== undefined && !shardMatch) {
  process.stderr.write(
    `parameter-server: --shard-index must be a number or end with one, got "${flags['shard-index']}"\n`,
  );
  process.exit(2);
}
const shardIndex = shardMatch ? Number(shardMatch[1]) : undefined;
const maxMessageBytes = flags['max-message-bytes']
  ? Number(flags['max-message-bytes'])
  : DEFAULT_MAX_MESSAGE_BYTES;
const logger = createLogger({
  role: 'parameter-server',
  level: flags['log-level'] ?? 'info',
  bindings: { shard: shardIndex ?? -1 },
});

const registry = createRoleRegistry();
const observer = createPsMetrics(registry, shardIndex ?? 0);
const service = new ParameterServerService({
  logger,
  observer,
  ...(shardIndex === undefined ? {} : { shardIndex }),
});
const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
const grpc = await startGrpcServer({ services: [service.binding()], address, maxMessageBytes, logger });
// The tensor data plane (PushPull and Pull over ZeroMQ); `--data-plane grpc` serves them on gRPC only.
const data =
  dataPlane === 'zmq'
    ? await startZmqDataPlane(service, {
        host,
        port: parsePort(flags['data-port'], '--data-port'),
        logger,
        observer,
        maxWaitMs: service.defaultWaitMs,
      })
    : undefined;
if (data) service.dataPlane = { port: data.port, transport: 'zmq' };

// Prometheus /metrics (0 = any free port, printed as `metricsPort`).
const metricsServer =
  flags['metrics-port'] === undefined || flags['metrics-port'] === ''
    ? undefined
    : await startMetricsServer({ registry, host, port: parsePort(flags['metrics-port'], '--metrics-port') });
process.stdout.write(
  `${JSON.stringify({ event: 'listening', port: grpc.port, ...(data ? { dataPort: data.port } : {}), ...(metricsServer ? { metricsPort: metricsServer.port } : {}) })}\n`,
);

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'parameter-server shutting down');
  void metricsServer?.close();
  // Abort waiting pushes first: otherwise tryShutdown would wait for barriers that never fill.
  service
    .close()
    .then(() => data?.close())
    .then(() => grpc.shutdown(5_000))
    .then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'parameter-server shutdown failed');
        process.exit(1);
      },
    );
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
