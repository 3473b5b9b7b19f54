/**
 * parameter-server shard entry point: wiring only. Reads flags/env once, starts the gRPC server
 * (ParameterServerService + health + reflection), prints `{"event":"listening","port":N}` on stdout so
 * a parent process can find the port, optionally serves Prometheus `/metrics`, and shuts down
 * gracefully on SIGTERM/SIGINT (waiting pushes end with ABORTED, checkpoint writes finish).
 *
 *   node --import tsx services/parameter-server/src/main.ts [--port N] [--host H] [--shard-index I]
 *        [--metrics-port M] [--max-message-bytes B] [--log-level L] [--data-plane zmq|grpc]
 *        [--data-port D] [--checkpoint-dir DIR] [--nats HOST:PORT]
 *
 * Env (the shared bootstrap, @distrain/core/service): DISTRAIN_PORT or DISTRAIN_PS_PORT, DISTRAIN_HOST or
 * DISTRAIN_PS_HOST, DISTRAIN_PS_SHARD_INDEX (a StatefulSet pod name such as
 * `ps-2` also works), DISTRAIN_PS_METRICS_PORT, DISTRAIN_MAX_MESSAGE_BYTES, DISTRAIN_LOG_LEVEL,
 * DISTRAIN_DATA_PLANE, DISTRAIN_PS_DATA_PORT, DISTRAIN_PS_CHECKPOINT_DIR, DISTRAIN_NATS_URL. The listening line names the data plane's port as
 * `dataPort` (ZeroMQ, PushPull and Pull; see DataPlane in parameter_server.proto).
 */
import { ValidationError, startGrpcServer } from '@distrain/core';
import { createPsMetrics } from '@distrain/core/ps';
import { intFlag, runService, tuneHeapForDataPlane } from '@distrain/core/service';
import { DEFAULT_MAX_HELD_BYTES, ParameterServerService } from './ps-service.ts';
import { PS_ACCESS } from './grpc-handlers.ts';
import { startZmqDataPlane } from './zmq-data-plane.ts';

/** `ps-2` (a StatefulSet pod name) or `2`; unset: the shard accepts whatever index InitJob names. */
function shardIndexOf(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const match = /(\d+)$/.exec(raw);
  if (!match) throw new ValidationError('--shard-index', `must be a number or end with one, got "${raw}"`);
  return Number(match[1]);
}

// Received ZeroMQ frames are external memory freed by GC: a larger heap growing factor keeps them
// from starting a Mark-Compact every ~14 steps (heap-tuning.ts).
tuneHeapForDataPlane();
await runService({
  role: 'parameter-server',
  envAliases: {
    port: 'DISTRAIN_PS_PORT',
    host: 'DISTRAIN_PS_HOST',
    'metrics-port': 'DISTRAIN_PS_METRICS_PORT',
  },
  flags: {
    'shard-index': {
      env: 'DISTRAIN_PS_SHARD_INDEX',
      help: 'this shard (a number, or a pod name ending in one)',
    },
    'data-plane': {
      env: 'DISTRAIN_DATA_PLANE',
      default: 'zmq',
      help: 'zmq|grpc: transport of PushPull and Pull',
    },
    'data-port': {
      env: 'DISTRAIN_PS_DATA_PORT',
      default: '0',
      help: 'ZeroMQ data-plane port (0: any free port)',
    },
    'checkpoint-dir': {
      env: 'DISTRAIN_PS_CHECKPOINT_DIR',
      help: 'folder (a volume) for the checkpoints of jobs whose spec names none: <dir>/<job>/shard-<i>',
    },
    nats: {
      env: 'DISTRAIN_NATS_URL',
      help: 'NATS HOST:PORT[,...]: checkpoints also go to the JetStream Object Store bucket distrain-checkpoints',
    },
    // Parameters and optimizer slots this shard holds over all jobs (InitJob beyond: RESOURCE_EXHAUSTED).
    'max-held-bytes': { env: 'DISTRAIN_PS_MAX_HELD_BYTES', default: String(DEFAULT_MAX_HELD_BYTES) },
  },
  bindings: (flags) => ({ shard: shardIndexOf(flags['shard-index']) ?? -1 }),
  async start({ flags, logger, registry, host, address, maxMessageBytes, security }) {
    let dataPlane = flags['data-plane'] ?? 'zmq';
    if (dataPlane !== 'zmq' && dataPlane !== 'grpc') {
      throw new ValidationError('--data-plane', `must be grpc or zmq, got "${dataPlane}"`);
    }
    if (security.tls && dataPlane === 'zmq') {
      // The ZeroMQ data plane is plaintext: under TLS, PushPull and Pull stay on (encrypted) gRPC.
      logger.info('TLS: the ZeroMQ data plane is off, PushPull and Pull go over gRPC');
      dataPlane = 'grpc';
    }
    const shardIndex = shardIndexOf(flags['shard-index']);
    const dataPort = intFlag(flags['data-port'], 'data-port', 0, 65_535);
    const observer = createPsMetrics(registry, shardIndex ?? 0);
    const checkpointDir = flags['checkpoint-dir'];
    // Loaded only with --nats: a shard without NATS never loads the client.
    const events = flags.nats ? await import('@distrain/core/events') : undefined;
    const bucket =
      events && flags.nats
        ? await events.openCheckpointBucket(flags.nats, {
            name: `distrain-parameter-server-${shardIndex ?? 'any'}`,
          })
        : undefined;
    const service = new ParameterServerService({
      logger,
      observer,
      ...(checkpointDir ? { checkpointDir } : {}),
      ...(bucket && events
        ? {
            checkpointStores: (jobId: string, index: number) => [
              new events.NatsCheckpointStore(bucket, jobId, index),
            ],
          }
        : {}),
      maxHeldBytes: intFlag(flags['max-held-bytes'], 'max-held-bytes', 1, Number.MAX_SAFE_INTEGER),
      ...(shardIndex === undefined ? {} : { shardIndex }),
    });
    const grpc = await startGrpcServer({
      services: [service.binding()],
      address,
      maxMessageBytes,
      logger,
      auth: { authenticator: security.authenticator, rules: PS_ACCESS },
      ...(security.tls ? { tls: security.tls } : {}),
    });
    // The tensor data plane (PushPull and Pull over ZeroMQ); `--data-plane grpc` serves them on gRPC only.
    const data =
      dataPlane === 'zmq'
        ? await startZmqDataPlane(service, {
            host,
            port: dataPort,
            logger,
            observer,
            maxWaitMs: service.defaultWaitMs,
            authenticator: security.authenticator,
          })
        : undefined;
    if (data) service.dataPlane = { port: data.port, transport: 'zmq' };
    return {
      port: grpc.port,
      ...(data ? { listening: { dataPort: data.port } } : {}),
      // Abort waiting pushes first: otherwise tryShutdown would wait for barriers that never fill.
      shutdown: async () => {
        await service.close();
        await bucket?.close();
        await data?.close();
        await grpc.shutdown(5_000);
      },
    };
  },
});
