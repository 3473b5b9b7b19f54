import type { ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { ValidationError, distrainProto, parseJobText, toGrpcStatus } from '@distrain/core';
import type {
  JobEvent,
  JobServiceHandlers,
  Logger,
  ServiceBinding,
  WorkerServiceHandlers,
} from '@distrain/core';
import type { EventBus } from './event-bus.ts';
import { JobStates, isTerminal } from './job-manager.ts';
import type { JobManager, JobStateName } from './job-manager.ts';

/** Builds the model files of an export (the coordinator wires the tfjs implementation in). */
export type ModelExporter = (
  inputs: Awaited<ReturnType<JobManager['exportInputs']>>,
) => Promise<{ modelJson: string; weights: Buffer }>;

const CHUNK_BYTES = 1 << 20;

/** Runs a handler body and maps any error to a status in one place (errors.ts). */
function respond<T>(logger: Logger, callback: sendUnaryData<T>, body: () => T | Promise<T>): void {
  Promise.resolve()
    .then(body)
    .then(
      (value) => callback(null, value),
      (err: unknown) => callback(toGrpcStatus(err, (e) => logger.error({ err: e }, 'internal error'))),
    );
}

function streamError(logger: Logger, call: ServerWritableStream<unknown, unknown>, err: unknown): void {
  call.destroy(
    Object.assign(
      new Error(),
      toGrpcStatus(err, (e) => logger.error({ err: e }, 'internal error')),
    ),
  );
}

/** The host part of a grpc-js peer (`127.0.0.1:5000`, `ipv4:10.0.0.7:5000`, `[::1]:5000`). */
export function peerHost(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(p);
  if (bracketed) return bracketed[1] ?? '';
  const i = p.lastIndexOf(':');
  return i > 0 && p.indexOf(':') === i ? p.slice(0, i) : p;
}

/** The JobService and WorkerService gRPC bindings of the coordinator. */
export function coordinatorServices(
  manager: JobManager,
  events: EventBus,
  exportModel: ModelExporter,
  logger: Logger,
): ServiceBinding[] {
  const proto = distrainProto();
  const jobService: JobServiceHandlers = {
    SubmitJob: (call, callback) =>
      respond(logger, callback, async () => {
        if (call.request.spec.trim() === '')
          throw new ValidationError('spec', 'is empty; send a TrainingJob as YAML or JSON');
        return { job: await manager.submit(parseJobText(call.request.spec)) };
      }),
    GetJob: (call, callback) =>
      respond(logger, callback, () => ({ job: manager.toWire(manager.get(call.request.id)) })),
    ListJobs: (call, callback) =>
      respond(logger, callback, () => {
        const state = call.request.state;
        if (state !== 'JOB_STATE_UNSPECIFIED' && !Object.values(JobStates).includes(state as JobStateName)) {
          throw new ValidationError('state', `unknown state ${state}`);
        }
        return {
          jobs: manager.list(state === 'JOB_STATE_UNSPECIFIED' ? undefined : (state as JobStateName)),
        };
      }),
    CancelJob: (call, callback) =>
      respond(logger, callback, () =>
        manager.cancel(call.request.id, call.request.reason).then((job) => ({ job })),
      ),
    WatchJob: (call) => {
      let record;
      try {
        record = manager.get(call.request.id);
      } catch (err) {
        streamError(logger, call, err);
        return;
      }
      const send = (e: JobEvent): boolean => {
        call.write(e);
        return e.event === 'state' && isTerminal(e.state?.state as JobStateName);
      };
      // Subscribe before replaying so nothing falls between; skip live events already replayed.
      const queued: JobEvent[] = [];
      let replaying = true;
      let lastSeq = 0;
      const unsubscribe = events.subscribe(record.id, (e) => {
        if (replaying) {
          queued.push(e);
          return;
        }
        if (Number(e.sequence) <= lastSeq) return;
        lastSeq = Number(e.sequence);
        if (send(e)) finish();
      });
      const finish = (): void => {
        unsubscribe();
        call.end();
      };
      call.on('cancelled', unsubscribe);
      for (const e of [...events.replay(record.id), ...queued]) {
        if (Number(e.sequence) <= lastSeq) continue;
        lastSeq = Number(e.sequence);
        if (send(e)) {
          replaying = false;
          finish();
          return;
        }
      }
      replaying = false;
    },
    GetPredictions: (call) => {
      try {
        const csv = manager.predictions(call.request.id);
        for (let off = 0; off < csv.length; off += CHUNK_BYTES)
          call.write({ data: csv.subarray(off, off + CHUNK_BYTES) });
        call.end();
      } catch (err) {
        streamError(logger, call, err);
      }
    },
    ExportModel: (call) => {
      manager
        .exportInputs(call.request.id)
        .then(async (inputs) => ({ ...(await exportModel(inputs)), extraFiles: inputs.extraFiles }))
        .then(({ modelJson, weights, extraFiles }) => {
          call.write({ name: 'model.json', data: Buffer.from(modelJson) });
          for (let off = 0; off < weights.length; off += CHUNK_BYTES) {
            call.write({ name: 'weights.bin', data: weights.subarray(off, off + CHUNK_BYTES) });
          }
          // Text jobs: vocab.json and embeddings.glove.txt (chunked like the weights).
          for (const f of extraFiles) {
            for (let off = 0; off < f.data.length; off += CHUNK_BYTES) {
              call.write({
                name: f.name,
                data: f.data.subarray(off, Math.min(f.data.length, off + CHUNK_BYTES)),
              });
            }
          }
          call.end();
        })
        .catch((err: unknown) => streamError(logger, call, err));
    },
  };
  const workerService: WorkerServiceHandlers = {
    Heartbeat: (call, callback) =>
      respond(logger, callback, () => {
        if (call.request.backend) manager.setBackend(call.request.jobId, call.request.backend);
        return manager.heartbeat(call.request, peerHost(call.getPeer()));
      }),
    ReportEvaluation: (call, callback) =>
      respond(logger, callback, () => {
        const result = call.request.result;
        if (!result) throw new ValidationError('result', 'is required');
        manager.reportEvaluation(call.request.jobId, result, call.request.predictionsCsv);
        return {};
      }),
  };
  return [
    { name: 'distrain.v1.JobService', definition: proto.JobService.service, implementation: jobService },
    {
      name: 'distrain.v1.WorkerService',
      definition: proto.WorkerService.service,
      implementation: workerService,
    },
  ];
}
