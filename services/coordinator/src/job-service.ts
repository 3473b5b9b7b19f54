import {
  ValidationError,
  distrainProto,
  isJobStateName,
  isTerminal,
  failStream,
  parseJobText,
  unaryHandler,
} from '@distrain/core';
import type {
  JobEvent,
  JobServiceHandlers,
  Logger,
  ServiceBinding,
  WorkerServiceHandlers,
} from '@distrain/core';
import type { EventBus } from './event-bus.ts';
import type { JobManager } from './job-manager.ts';

/** Builds the model files of an export (the coordinator wires the tfjs implementation in). */
export type ModelExporter = (
  inputs: Awaited<ReturnType<JobManager['exportInputs']>>,
) => Promise<{ modelJson: string; weights: Buffer }>;

const CHUNK_BYTES = 1 << 20;

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
  const handlerOptions = { logger };
  const jobService: JobServiceHandlers = {
    SubmitJob: unaryHandler(async (request) => {
      if (request.spec.trim() === '')
        throw new ValidationError('spec', 'is empty; send a TrainingJob as YAML or JSON');
      return { job: await manager.submit(parseJobText(request.spec)) };
    }, handlerOptions),
    GetJob: unaryHandler(
      async (request) => ({ job: manager.toWire(await manager.find(request.id)) }),
      handlerOptions,
    ),
    ListJobs: unaryHandler(async (request) => {
      const state = request.state;
      if (state !== 'JOB_STATE_UNSPECIFIED' && !isJobStateName(state)) {
        throw new ValidationError('state', `unknown state ${state}`);
      }
      return { jobs: await manager.listAll(isJobStateName(state) ? state : undefined) };
    }, handlerOptions),
    CancelJob: unaryHandler(
      (request) => manager.cancel(request.id, request.reason).then((job) => ({ job })),
      handlerOptions,
    ),
    WatchJob: (call) => {
      let record;
      try {
        record = manager.get(call.request.id);
      } catch (err) {
        // An ended job evicted from memory: its kept history from the store, then the end.
        manager
          .storedHistory(call.request.id)
          .then((history) => {
            for (const e of history) call.write(e);
            call.end();
          })
          .catch(() => failStream(call, err, logger));
        return;
      }
      const send = (e: JobEvent): boolean => {
        call.write(e);
        return e.event === 'state' && isTerminal(e.state?.state);
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
      manager
        .predictions(call.request.id)
        .then((csv) => {
          for (let off = 0; off < csv.length; off += CHUNK_BYTES)
            call.write({ data: csv.subarray(off, off + CHUNK_BYTES) });
          call.end();
        })
        .catch((err: unknown) => failStream(call, err, logger));
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
        .catch((err: unknown) => failStream(call, err, logger));
    },
  };
  const workerService: WorkerServiceHandlers = {
    Heartbeat: unaryHandler((request, ctx) => {
      if (request.backend) manager.setBackend(request.jobId, request.backend);
      return manager.heartbeat(request, peerHost(ctx.peer));
    }, handlerOptions),
    ReportEvaluation: unaryHandler((request) => {
      const result = request.result;
      if (!result) throw new ValidationError('result', 'is required');
      manager.reportEvaluation(request.jobId, result, request.predictionsCsv);
      return {};
    }, handlerOptions),
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
