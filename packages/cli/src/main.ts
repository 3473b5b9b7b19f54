/**
 * `distrain`: the command-line client, a thin shell over `@distrain/client`, and the embedded local
 * stack. Commands and their options are declared with commander (generated help; unknown options
 * are errors). Spec validation and the local stack are loaded only by the commands that use them, so
 * `distrain --help` and the client commands never load TensorFlow.js.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { ensureUserToken, resolveUserToken } from '@distrain/client';
import type { ClientOptions, Job } from '@distrain/client';
import { connect, predictions, printSummary, watch } from './commands.ts';
import { stateName } from './render.ts';

/** A usage mistake: exit code 2 and a message naming the argument or option. */
class UsageError extends Error {
  override name = 'ValidationError';
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

interface OverrideFlags {
  trainers?: string;
  epochs?: string;
  backend?: string;
  seed?: string;
}
interface ClientFlags {
  coordinator?: string;
  token?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`--${name}`, `must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Reads, overrides and validates a spec file here, so mistakes show before anything starts. */
async function loadSpec(file: string, flags: OverrideFlags): Promise<{ text: string; shards: number }> {
  // The validator lives in core; loaded here only, not by --help or the client commands.
  const { BACKENDS, parseJobText, validateJob } = await import('@distrain/core');
  const o: { trainers?: number; epochs?: number; seed?: number; backend?: (typeof BACKENDS)[number] } = {};
  const trainers = intFlag('trainers', flags.trainers);
  const epochs = intFlag('epochs', flags.epochs);
  const seed = intFlag('seed', flags.seed);
  if (trainers !== undefined) o.trainers = trainers;
  if (epochs !== undefined) o.epochs = epochs;
  if (seed !== undefined) o.seed = seed;
  if (flags.backend !== undefined) {
    if (!(BACKENDS as readonly string[]).includes(flags.backend))
      throw new UsageError(
        '--backend',
        `must be one of ${BACKENDS.join(', ')}, got ${JSON.stringify(flags.backend)}`,
      );
    o.backend = flags.backend as (typeof BACKENDS)[number];
  }
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError('SPEC', `cannot read ${file}: ${(err as Error).message}`);
  }
  const job = validateJob(parseJobText(raw, file), o);
  return { text: JSON.stringify(job), shards: job.spec.parameterServer.shards };
}

/** `distrain up`'s state folder: $DISTRAIN_STATE_DIR, else $XDG_STATE_HOME/distrain, else ~/.local/state/distrain. */
function defaultStateDir(): string {
  if (process.env['DISTRAIN_STATE_DIR']) return process.env['DISTRAIN_STATE_DIR'];
  const base = process.env['XDG_STATE_HOME'] || join(homedir(), '.local', 'state');
  return join(base, 'distrain');
}

const natsUrl = (flags: { nats?: string }): string | undefined =>
  flags.nats ?? (process.env['DISTRAIN_NATS_URL'] || undefined);

/** `--data-plane` or DISTRAIN_DATA_PLANE, validated; undefined: the services' default (zmq). */
function dataPlaneFlag(flags: { dataPlane?: string }): 'grpc' | 'zmq' | undefined {
  const v = flags.dataPlane ?? process.env['DISTRAIN_DATA_PLANE'];
  if (v === undefined || v === '') return undefined;
  if (v !== 'grpc' && v !== 'zmq') throw new UsageError('--data-plane', `must be grpc or zmq, got "${v}"`);
  return v;
}

/**
 * Prints a service's log line on stderr, and a trainer's per-step breakdown also as a line a person
 * reads (the metrics door is loaded only for verbose runs).
 */
async function serviceLogPrinter(): Promise<(name: string, line: string) => void> {
  const { breakdownFromLogLine, formatBreakdown, formatMeans } = await import('@distrain/core/metrics');
  return (name, line) => {
    process.stderr.write(`${name}: ${line}\n`);
    const b = breakdownFromLogLine(line);
    if (b) {
      let when = b.epoch === 'all' ? 'whole run' : `epoch ${b.epoch}`;
      // The only trainer applies its steps itself: aggregate+apply is its own optimizer step.
      if (b.ownSteps !== undefined && b.ownSteps > 0) when += `, ${b.ownSteps} steps applied by the trainer`;
      process.stderr.write(`trainer ${b.rank} (${when}): ${formatBreakdown(b.medians)}\n`);
      if (b.means) process.stderr.write(`trainer ${b.rank} (${when}): ${formatMeans(b.means)}\n`);
    }
  };
}

function readPem(flag: string, file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UsageError(flag, `cannot read ${file}: ${(err as Error).message}`);
  }
}

/** The client for the client commands: address, token and TLS from flags or the environment. */
function clientFor(flags: ClientFlags): ReturnType<typeof connect> {
  const options: Omit<ClientOptions, 'address'> = {};
  // --token, else DISTRAIN_TOKEN, else the token file `distrain up` wrote.
  const token = resolveUserToken(flags.token, process.env);
  if (token) options.token = token;
  if (flags.tlsCa || flags.tlsCert || flags.tlsKey) {
    const ca = readPem('--tls-ca', flags.tlsCa);
    const cert = readPem('--tls-cert', flags.tlsCert);
    const key = readPem('--tls-key', flags.tlsKey);
    options.tls = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  }
  return connect(flags.coordinator ?? process.env['DISTRAIN_COORDINATOR'] ?? '127.0.0.1:7070', options);
}

function printJob(job: Job, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...job, state: stateName(job.state) })}\n`);
    return;
  }
  const acc = job.epochs.at(-1);
  const p = job.progress;
  process.stdout.write(
    `${job.id}\t${stateName(job.state)}\t${p ? `epoch ${p.epoch} step ${p.globalStep}/${p.totalSteps}` : ''}\t${acc ? `test accuracy ${(acc.testAccuracy * 100).toFixed(2)}%` : ''}${job.reason ? `\t${job.reason}` : ''}\n`,
  );
}

const withOverrides = (c: Command): Command =>
  c
    .option('--trainers <n>', 'trainer replicas (overrides spec.trainers.replicas)')
    .option('--epochs <n>', 'epochs (overrides spec.epochs)')
    .addOption(new Option('--backend <name>', 'compute backend: auto, tensorflow, wasm or cpu'))
    .option('--seed <n>', 'random seed (overrides spec.seed)');

const withClient = (c: Command): Command =>
  c
    .option('--coordinator <host:port>', 'coordinator address (env DISTRAIN_COORDINATOR)', undefined)
    .option(
      '--token <token>',
      'bearer token sent as authorization metadata (else env DISTRAIN_TOKEN, else the file `distrain up` writes)',
    )
    .option('--tls-ca <file>', 'TLS: CA certificate (PEM) of the coordinator')
    .option('--tls-cert <file>', 'TLS: client certificate (PEM), with --tls-key')
    .option('--tls-key <file>', 'TLS: client private key (PEM), with --tls-cert');

/** gRPC status names by code, for error lines (`UNAUTHENTICATED 16: ...`). */
const STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

let exitCode = 0;
/** A supervised service died, was restarted or given up on (`distrain run`/`up`): one line on stderr. */
function printNotice(notice: { level: string; message: string }): void {
  process.stderr.write(`distrain: ${notice.level === 'error' ? 'error: ' : ''}${notice.message}\n`);
}

const program = new Command('distrain')
  .description('data-parallel training on Kubernetes or your laptop')
  .showHelpAfterError()
  .exitOverride()
  .addHelpText(
    'after',
    '\nCoordinator address: --coordinator HOST:PORT or DISTRAIN_COORDINATOR (default 127.0.0.1:7070)\n' +
      'NATS for run/up: --nats URL or DISTRAIN_NATS_URL (job events in JetStream, job records in KV; default: none)\n' +
      'Data plane for run/up: --data-plane zmq|grpc or DISTRAIN_DATA_PLANE (PushPull/Pull transport; default zmq)\n' +
      'Services of run/up: JavaScript transpiled from the sources into dist/ when one changed; DISTRAIN_COMPILE=0 runs them through tsx\n' +
      'Run `distrain help COMMAND` for the options of one command.',
  );

withOverrides(
  program
    .command('run')
    .description('run a job on this machine (all roles as local processes), then exit')
    .argument('<SPEC>', 'TrainingJob YAML or JSON file, e.g. examples/mnist-mlp.yaml'),
)
  .option('--json', 'one JSON object per line')
  .option('--nats <url>', 'NATS server for job events and records (env DISTRAIN_NATS_URL)')
  .option('--data-plane <kind>', 'zmq|grpc: transport of PushPull and Pull (env DISTRAIN_DATA_PLANE)')
  .option('--state-dir <dir>', "coordinator's state folder (ended jobs' artifacts without NATS)")
  .option(
    '-v, --verbose',
    "the services' logs and each trainer's per-step time breakdown (median ms) on stderr",
  )
  .action(
    async (
      file: string,
      flags: OverrideFlags & {
        json?: boolean;
        nats?: string;
        verbose?: boolean;
        dataPlane?: string;
        stateDir?: string;
      },
    ) => {
      const spec = await loadSpec(file, flags);
      const json = flags.json ?? false;
      const onLog = flags.verbose ? await serviceLogPrinter() : undefined;
      const dataPlane = dataPlaneFlag(flags);
      if (!json)
        process.stderr.write('starting the local services (data-loader, parameter server, coordinator)...\n');
      const nats = natsUrl(flags);
      const { token } = ensureUserToken(process.env);
      const { startLocalStack, describeCode } = await import('./local-stack.ts');
      const stack = await startLocalStack({
        token,
        shards: spec.shards,
        logLevel: flags.verbose ? 'info' : 'warn',
        // The spec's folder: its dataset files usually lie beside it.
        dataRoots: [dirname(resolve(file))],
        ...(onLog ? { onLog } : {}),
        ...(nats ? { nats } : {}),
        ...(dataPlane ? { dataPlane } : {}),
        ...(flags.stateDir ? { stateDir: flags.stateDir } : {}),
        onNotice: printNotice,
      });
      const how = describeCode(stack.code);
      if (!json && (flags.verbose || stack.code.compile?.ok === false)) process.stderr.write(`${how}\n`);
      let interrupted = false;
      const client = connect(stack.coordinator, { token: stack.token });
      try {
        const job = await client.submit(spec.text);
        const onSignal = (): void => {
          interrupted = true;
          void client.cancel(job.id, 'interrupted (Ctrl-C)', { timeoutMs: 5_000 }).catch(() => undefined);
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        const final = await watch(client, job.id, { json });
        const summary = printSummary(final, json);
        exitCode = summary.state === 'Succeeded' && !interrupted ? 0 : 1;
      } finally {
        client.close();
        await stack.stop();
      }
    },
  );

program
  .command('up')
  .description('start the local services and keep them up for submit')
  .option('--port <port>', 'coordinator port', '7070')
  .option('--shards <n>', 'parameter-server shards', '1')
  .option('--json', 'machine-readable output only')
  .option('--nats <url>', 'NATS server for job events and records (env DISTRAIN_NATS_URL)')
  .option('--data-plane <kind>', 'zmq|grpc: transport of PushPull and Pull (env DISTRAIN_DATA_PLANE)')
  .option('-v, --verbose', "the services' logs at info level")
  .option(
    '--state-dir <dir>',
    "coordinator's state folder: ended jobs' parameters and predictions without NATS (env DISTRAIN_STATE_DIR)",
    defaultStateDir(),
  )
  .action(
    async (flags: {
      port: string;
      shards: string;
      json?: boolean;
      nats?: string;
      verbose?: boolean;
      dataPlane?: string;
      stateDir: string;
    }) => {
      const nats = natsUrl(flags);
      const dataPlane = dataPlaneFlag(flags);
      const shards = intFlag('shards', flags.shards) ?? 1;
      const port = intFlag('port', flags.port) ?? 7070;
      // The user's token (created on first use, mode 0600): the CLI reads it from there.
      const { token, path: tokenFile } = ensureUserToken(process.env);
      const { startLocalStack } = await import('./local-stack.ts');
      const stack = await startLocalStack({
        token,
        shards,
        coordinatorPort: port,
        logLevel: flags.verbose ? 'info' : 'warn',
        onLog: await serviceLogPrinter(),
        ...(nats ? { nats } : {}),
        ...(dataPlane ? { dataPlane } : {}),
        stateDir: flags.stateDir,
        superviseCoordinator: true,
        onNotice: printNotice,
      });
      process.stdout.write(
        `${JSON.stringify({ event: 'up', coordinator: stack.coordinator, loader: stack.loader, ps: stack.ps, metricsPorts: stack.metricsPorts, tokenFile, compiled: stack.code.compiled })}\n`,
      );
      if (!flags.json) {
        const m = stack.metricsPorts;
        process.stderr.write(
          `distrain is up: coordinator at ${stack.coordinator}${nats ? ` (NATS ${nats})` : ''}. Ctrl-C stops it.\n` +
            `token: ${tokenFile} (the CLI reads it; other clients send it as "authorization: Bearer")\n` +
            `metrics: coordinator :${m.coordinator}, data-loader :${m.loader}, parameter server ${m.ps.map((p) => `:${p}`).join(' ')}; ` +
            `workers: http_sd at http://127.0.0.1:${m.coordinator}/sd/workers\n`,
        );
      }
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await stack.stop();
    },
  );

withClient(
  withOverrides(
    program
      .command('submit')
      .description('submit a job to a running coordinator')
      .argument('<SPEC>', 'TrainingJob YAML or JSON file'),
  ),
)
  .option('--watch', 'follow the job until it ends')
  .option('--json', 'one JSON object per line')
  .action(async (file: string, flags: OverrideFlags & ClientFlags & { watch?: boolean; json?: boolean }) => {
    const spec = await loadSpec(file, flags);
    const client = clientFor(flags);
    const job = await client.submit(spec.text);
    if (!flags.watch) return printJob(job, flags.json ?? false);
    const final = await watch(client, job.id, { json: flags.json ?? false });
    exitCode = printSummary(final, flags.json ?? false).state === 'Succeeded' ? 0 : 1;
  });

withClient(program.command('list').description('every job the coordinator knows'))
  .option('--json', 'one JSON object per job')
  .action(async (flags: ClientFlags & { json?: boolean }) => {
    for (const job of await clientFor(flags).list()) printJob(job, flags.json ?? false);
  });

withClient(program.command('get').description('one job').argument('<ID>', 'job id (see `distrain list`)'))
  .option('--json', 'as JSON')
  .action(async (id: string, flags: ClientFlags & { json?: boolean }) => {
    printJob(await clientFor(flags).get(id), flags.json ?? false);
  });

withClient(
  program
    .command('watch')
    .description('follow a job until it ends')
    .argument('<ID>', 'job id (see `distrain list`)'),
)
  .option('--json', 'one JSON object per line')
  .action(async (id: string, flags: ClientFlags & { json?: boolean }) => {
    const final = await watch(clientFor(flags), id, { json: flags.json ?? false });
    exitCode = printSummary(final, flags.json ?? false).state === 'Succeeded' ? 0 : 1;
  });

withClient(program.command('cancel').description('stop a job').argument('<ID>', 'job id'))
  .option('--json', 'as JSON')
  .action(async (id: string, flags: ClientFlags & { json?: boolean }) => {
    printJob(await clientFor(flags).cancel(id, 'cancelled by user'), flags.json ?? false);
  });

withClient(
  program
    .command('predictions')
    .description('test-set predictions as CSV, in dataset order')
    .argument('<ID>', 'job id'),
)
  .option('-o, --output <file>', 'write to FILE instead of stdout')
  .action(async (id: string, flags: ClientFlags & { output?: string }) => {
    const bytes = await predictions(clientFor(flags), id, flags.output);
    if (flags.output) process.stderr.write(`wrote ${bytes} bytes to ${flags.output}\n`);
  });

withClient(
  program
    .command('export')
    .description('the trained model as TensorFlow.js layers (model.json + weights.bin)')
    .argument('<ID>', 'job id')
    .argument('<DIR>', 'folder to write model.json and weights.bin into'),
).action(async (id: string, dir: string, flags: ClientFlags) => {
  const files = await clientFor(flags).exportModel(id, dir);
  process.stderr.write(`wrote ${files.join(', ')}\n`);
});

try {
  if (process.argv.length <= 2) {
    process.stdout.write(program.helpInformation());
    exitCode = 2;
  } else {
    await program.parseAsync(process.argv);
  }
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; usage mistakes (unknown option, missing argument) exit 2.
    exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof Error && err.name === 'ValidationError') {
    process.stderr.write(`error: ${err.message}\n`);
    exitCode = 2;
  } else if (
    err instanceof Error &&
    typeof (err as { code?: unknown }).code === 'number' &&
    'details' in err
  ) {
    const e = err as Error & { code: number; details: string };
    process.stderr.write(`error: ${STATUS_NAMES[e.code] ?? 'status'} ${e.code}: ${e.details}\n`);
    exitCode = 1;
  } else {
    process.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
    exitCode = 1;
  }
}
process.exitCode = exitCode;
// gRPC channels and timers must not keep a finished command alive.
setTimeout(() => process.exit(process.exitCode ?? 0), 100).unref();
