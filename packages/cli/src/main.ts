/** `distrain`: the command-line client (gRPC) and the embedded local stack. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BACKENDS, ValidationError, isServiceError, parseJobText, unary, validateJob } from '@distrain/core';
import { breakdownFromLogLine, formatBreakdown } from '@distrain/core/metrics';
import type { BackendName, Job__Output, JobOverrides } from '@distrain/core';
import { connect, exportModel, predictions, printSummary, submit, watch } from './commands.ts';
import { startLocalStack } from './local-stack.ts';
import { stateName } from './render.ts';

const USAGE = `distrain: data-parallel training on Kubernetes or your laptop

Usage:
  distrain run SPEC [overrides] [--json]      run a job on this machine (all roles as local processes), then exit
  distrain up [--port 7070] [--shards N]      start the local services and keep them up for submit
  distrain submit SPEC [overrides] [--watch] [--json]
  distrain list [--json]
  distrain get ID [--json]
  distrain watch ID [--json]
  distrain cancel ID
  distrain predictions ID [-o FILE]           test-set predictions as CSV, in dataset order
  distrain export ID DIR                      the trained model as TensorFlow.js layers (model.json + weights.bin)

Overrides: --trainers N  --epochs E  --backend auto|tensorflow|wasm|cpu  --seed S
Coordinator address: --coordinator HOST:PORT or DISTRAIN_COORDINATOR (default 127.0.0.1:7070)
NATS for run/up: --nats URL or DISTRAIN_NATS_URL (job events in JetStream, job records in KV; default: none)
Data plane for run/up: --data-plane zmq|grpc or DISTRAIN_DATA_PLANE (PushPull/Pull transport; default zmq)
Verbose run (-v): the services' logs and each trainer's per-step time breakdown (median ms)
`;

const { values: flags, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        watch: { type: 'boolean', default: false },
        trainers: { type: 'string' },
        epochs: { type: 'string' },
        backend: { type: 'string' },
        seed: { type: 'string' },
        shards: { type: 'string' },
        port: { type: 'string' },
        coordinator: { type: 'string' },
        nats: { type: 'string' },
        'data-plane': { type: 'string' },
        output: { type: 'string', short: 'o' },
        verbose: { type: 'boolean', short: 'v', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
})();

function intFlag(name: 'trainers' | 'epochs' | 'seed' | 'shards' | 'port'): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new ValidationError(`--${name}`, `must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

/** `--data-plane` or DISTRAIN_DATA_PLANE, validated; undefined: the services' default. */
function dataPlaneFlag(): 'grpc' | 'zmq' | undefined {
  const v = flags['data-plane'] ?? process.env.DISTRAIN_DATA_PLANE;
  if (v === undefined || v === '') return undefined;
  if (v !== 'grpc' && v !== 'zmq')
    throw new ValidationError('--data-plane', `must be grpc or zmq, got "${v}"`);
  return v;
}

function overrides(): JobOverrides {
  const o: JobOverrides = {};
  const trainers = intFlag('trainers');
  const epochs = intFlag('epochs');
  const seed = intFlag('seed');
  if (trainers !== undefined) o.trainers = trainers;
  if (epochs !== undefined) o.epochs = epochs;
  if (seed !== undefined) o.seed = seed;
  if (flags.backend !== undefined) {
    if (!(BACKENDS as readonly string[]).includes(flags.backend)) {
      throw new ValidationError(
        '--backend',
        `must be one of ${BACKENDS.join(', ')}, got ${JSON.stringify(flags.backend)}`,
      );
    }
    o.backend = flags.backend as BackendName;
  }
  return o;
}

/** Reads, overrides and validates a spec file here, so mistakes show before anything starts. */
function loadSpec(file: string | undefined): { text: string; shards: number } {
  if (!file)
    throw new ValidationError(
      'SPEC',
      'is required: a TrainingJob YAML or JSON file, e.g. examples/mnist-mlp.yaml',
    );
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ValidationError('SPEC', `cannot read ${file}: ${(err as Error).message}`);
  }
  const job = validateJob(parseJobText(raw, file), overrides());
  return { text: JSON.stringify(job), shards: job.spec.parameterServer.shards };
}

const natsUrl = (): string | undefined => flags.nats ?? (process.env['DISTRAIN_NATS_URL'] || undefined);

const coordinatorAddress = (): string =>
  flags.coordinator ?? process.env['DISTRAIN_COORDINATOR'] ?? '127.0.0.1:7070';

function needId(): string {
  const id = positionals[1];
  if (!id) throw new ValidationError('ID', 'is required (see `distrain list`)');
  return id;
}

function printJob(job: Job__Output): void {
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ...job, state: stateName(job.state) })}\n`);
    return;
  }
  const acc = job.epochs.at(-1);
  const p = job.progress;
  process.stdout.write(
    `${job.id}\t${stateName(job.state)}\t${p ? `epoch ${p.epoch} step ${p.globalStep}/${p.totalSteps}` : ''}\t${acc ? `test accuracy ${(acc.testAccuracy * 100).toFixed(2)}%` : ''}${job.reason ? `\t${job.reason}` : ''}\n`,
  );
}

async function main(): Promise<number> {
  const command = positionals[0];
  if (flags.help || !command) {
    process.stdout.write(USAGE);
    return command || flags.help ? 0 : 2;
  }
  switch (command) {
    case 'run': {
      const spec = loadSpec(positionals[1]);
      const onLog = flags.verbose
        ? (name: string, line: string) => {
            process.stderr.write(`${name}: ${line}\n`);
            // Each trainer's per-step breakdown, also as a line a person reads.
            const b = breakdownFromLogLine(line);
            if (b) {
              const when = b.epoch === 'all' ? 'whole run' : `epoch ${b.epoch}`;
              process.stderr.write(`trainer ${b.rank} (${when}): ${formatBreakdown(b.medians)}\n`);
            }
          }
        : undefined;
      if (!flags.json)
        process.stderr.write('starting the local services (data-loader, parameter server, coordinator)...\n');
      const nats = natsUrl();
      const stack = await startLocalStack({
        shards: spec.shards,
        logLevel: flags.verbose ? 'info' : 'warn',
        ...(onLog ? { onLog } : {}),
        ...(nats ? { nats } : {}),
        ...(dataPlaneFlag() ? { dataPlane: dataPlaneFlag() } : {}),
      });
      let interrupted = false;
      const client = connect(stack.coordinator);
      const job = await submit(client, spec.text);
      const onSignal = (): void => {
        interrupted = true;
        void unary(
          client,
          client.cancelJob,
          { id: job.id, reason: 'interrupted (Ctrl-C)' },
          { timeoutMs: 5_000 },
        ).catch(() => undefined);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const final = await watch(client, job.id, { json: flags.json });
        const summary = printSummary(final, flags.json);
        return summary.state === 'Succeeded' && !interrupted ? 0 : 1;
      } finally {
        client.close();
        await stack.stop();
      }
    }
    case 'up': {
      const nats = natsUrl();
      const stack = await startLocalStack({
        shards: intFlag('shards') ?? 1,
        coordinatorPort: intFlag('port') ?? 7070,
        logLevel: flags.verbose ? 'info' : 'warn',
        onLog: (n, l) => process.stderr.write(`${n}: ${l}\n`),
        ...(nats ? { nats } : {}),
        ...(dataPlaneFlag() ? { dataPlane: dataPlaneFlag() } : {}),
      });
      process.stdout.write(
        `${JSON.stringify({ event: 'up', coordinator: stack.coordinator, loader: stack.loader, ps: stack.ps, metricsPorts: stack.metricsPorts })}\n`,
      );
      if (!flags.json) {
        const m = stack.metricsPorts;
        process.stderr.write(
          `distrain is up: coordinator at ${stack.coordinator}${nats ? ` (NATS ${nats})` : ''}. Ctrl-C stops it.\n` +
            `metrics: coordinator :${m.coordinator}, data-loader :${m.loader}, parameter server ${m.ps.map((p) => `:${p}`).join(' ')}; ` +
            `workers: http_sd at http://127.0.0.1:${m.coordinator}/sd/workers\n`,
        );
      }
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await stack.stop();
      return 0;
    }
    case 'submit': {
      const spec = loadSpec(positionals[1]);
      const client = connect(coordinatorAddress());
      const job = await submit(client, spec.text);
      if (!flags.watch) {
        printJob(job);
        return 0;
      }
      const final = await watch(client, job.id, { json: flags.json });
      return printSummary(final, flags.json).state === 'Succeeded' ? 0 : 1;
    }
    case 'list': {
      const client = connect(coordinatorAddress());
      const res = await unary(
        client,
        client.listJobs,
        { state: 'JOB_STATE_UNSPECIFIED' },
        { timeoutMs: 10_000, retries: 2 },
      );
      for (const job of res.jobs) printJob(job);
      return 0;
    }
    case 'get': {
      const client = connect(coordinatorAddress());
      printJob(
        (await unary(client, client.getJob, { id: needId() }, { timeoutMs: 10_000, retries: 2 }))
          .job as Job__Output,
      );
      return 0;
    }
    case 'watch': {
      const client = connect(coordinatorAddress());
      const final = await watch(client, needId(), { json: flags.json });
      return printSummary(final, flags.json).state === 'Succeeded' ? 0 : 1;
    }
    case 'cancel': {
      const client = connect(coordinatorAddress());
      printJob(
        (
          await unary(
            client,
            client.cancelJob,
            { id: needId(), reason: 'cancelled by user' },
            { timeoutMs: 30_000 },
          )
        ).job as Job__Output,
      );
      return 0;
    }
    case 'predictions': {
      const bytes = await predictions(connect(coordinatorAddress()), needId(), flags.output);
      if (flags.output) process.stderr.write(`wrote ${bytes} bytes to ${flags.output}\n`);
      return 0;
    }
    case 'export': {
      const dir = positionals[2];
      if (!dir)
        throw new ValidationError('DIR', 'is required: the folder to write model.json and weights.bin into');
      const files = await exportModel(connect(coordinatorAddress()), needId(), dir);
      process.stderr.write(`wrote ${files.join(', ')}\n`);
      return 0;
    }
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  if (err instanceof ValidationError) process.stderr.write(`error: ${err.message}\n`);
  else if (isServiceError(err)) process.stderr.write(`error: ${err.details} (${err.code})\n`);
  else process.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = err instanceof ValidationError ? 2 : 1;
}
// gRPC channels and timers must not keep a finished command alive.
setTimeout(() => process.exit(process.exitCode ?? 0), 100).unref();
