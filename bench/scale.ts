/**
 * Scale projection, SYNTHETIC COMPUTE: how the parameter server holds up when many trainers push a
 * realistic model's gradients, before a real cluster shows it. Each trainer is its own process with
 * a real `ParameterClient`; instead of computing, it waits a fixed step time (`--compute-ms`, the
 * compute a GPU would spend on a step) and then pushes real gradient bytes of a model of `--params`
 * million float32 parameters (25 dense layers of about 1M weights + bias each, so a 25M model by
 * default, ResNet-50-sized) through real parameter-server shard processes, synchronously (every
 * rank every step, as `distrain run` does). The grid is 1, 2, 4, 8 trainers x 1, 2, 4 shards
 * (`--quick`: 1, 4 trainers x 1, 2 shards, one measured step).
 *
 * Reported per grid point: the median step time against the synthetic compute time (row ratio =
 * compute / step, the scaling efficiency: 1.0 means the exchange is free; step / compute is its
 * inverse, printed in the table), and the achieved exchange rate in GB/s: gradient bytes up plus
 * parameter bytes down of all trainers over the exchange time (step - compute), against raw
 * loopback TCP measured in the same run. Nothing here trains a model: these rows project, they do
 * not measure training.
 *
 *   node --import tsx bench/scale.ts [--json] [--quick] [--params M] [--compute-ms N] [--steps N]
 *        [--trainers 1,2,4,8] [--shards 1,2,4]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ValidationError } from '@distrain/core';
import { clientOptions, generateToken, setDefaultClientSecurity } from '@distrain/core';
import { ParameterClient } from '@distrain/core/ps';
import type { VariableInfo } from '@distrain/core';
import { median, printRows, rateRow, sig, timeRow, withServiceMallocSettings } from './common.ts';
import type { BenchRow } from './common.ts';

// The shards require a deployment token: one per run, inherited by every child (shards and
// synthetic trainers), which this process and its children send as service callers.
process.env['DISTRAIN_AUTH_TOKEN'] ||= generateToken();
setDefaultClientSecurity({ token: process.env['DISTRAIN_AUTH_TOKEN'] });

const SELF = fileURLToPath(import.meta.url);
const PS_MAIN = fileURLToPath(new URL('../services/parameter-server/src/main.ts', import.meta.url));
const LAYERS = 25;

/** Options of {@link runScale}. */
export interface ScaleOptions {
  quick: boolean;
  /** Model size in millions of float32 parameters. @default 25 */
  paramsMillions?: number;
  /** Synthetic compute per step. @default 100 */
  computeMs?: number;
  /** Measured steps per grid point (one warm-up step comes first). @default 3 (quick 1) */
  steps?: number;
  trainers?: number[];
  shards?: number[];
}

/** One grid point. */
export interface ScalePoint {
  trainers: number;
  shards: number;
  stepMs: number;
  computeMs: number;
  /** Push + pull bytes of all trainers per second of exchange (step - compute), GB/s. */
  exchangeGBps: number;
}

/** The synthetic model: `LAYERS` dense layers (kernel + bias) adding up to about `millions` M floats. */
export function syntheticVariables(millions: number): VariableInfo[] {
  if (!(millions > 0) || millions > 200)
    throw new ValidationError('--params', `must be millions of parameters in (0, 200], got ${millions}`);
  const side = Math.max(1, Math.round(Math.sqrt((millions * 1e6) / LAYERS)));
  const vars: VariableInfo[] = [];
  for (let l = 0; l < LAYERS; l++) {
    const dense = { initializer: 'glorotUniform' as const, fanIn: side, fanOut: side, trainable: true };
    vars.push({ name: `l${l}_dense/kernel`, shape: [side, side], ...dense });
    vars.push({ name: `l${l}_dense/bias`, shape: [side], ...dense, initializer: 'zeros' as const });
  }
  return vars;
}

function floats(vars: readonly VariableInfo[]): number {
  return vars.reduce((a, v) => a + v.shape.reduce((x, y) => x * y, 1), 0);
}

/** Largest message a shard gets: its share of the model plus framing, never below 64 MiB. */
function maxMessageBytes(millions: number): number {
  return Math.max(64 << 20, Math.ceil(millions * 4e6 * 1.05) + (8 << 20));
}

function startChild(
  args: string[],
  match: (line: string) => number | undefined,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before listening`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const port = match(line);
      if (port !== undefined) {
        child.removeAllListeners('exit');
        resolve({ child, port });
      }
    });
  });
}

function portOf(line: string): number | undefined {
  try {
    const v = JSON.parse(line) as { port?: unknown };
    return typeof v.port === 'number' ? v.port : undefined;
  } catch {
    return undefined;
  }
}

/** Child: one synthetic trainer; prints `{"stepMs":[...]}` (warm-up step excluded) and exits. */
async function trainer(a: Record<string, string | boolean | undefined>): Promise<void> {
  const millions = Number(a['params']);
  const variables = syntheticVariables(millions);
  const client = new ParameterClient({
    jobId: String(a['job']),
    shardAddresses: String(a['addresses']).split(','),
    variables,
    channelOptions: clientOptions(maxMessageBytes(millions)),
    timeoutMs: 300_000,
  });
  // Real bytes: a different small value per variable, so nothing on the path can skip work on zeros.
  const grads = new Map(
    variables.map((v, i) => [
      v.name,
      new Float32Array(v.shape.reduce((x, y) => x * y, 1)).fill(1e-6 * (i + 1)),
    ]),
  );
  const rank = Number(a['rank']);
  const computeMs = Number(a['compute-ms']);
  const steps = Number(a['steps']) + 1;
  const stepMs: number[] = [];
  for (let step = 0; step < steps; step++) {
    const t0 = performance.now();
    await sleep(computeMs); // the synthetic compute
    const r = await client.pushPull({ rank, step, sampleCount: 1, grads, lossSum: 0 });
    if (r.version !== step + 1)
      throw new Error(`rank ${rank}: shards answered version ${r.version} for step ${step}`);
    if (step > 0) stepMs.push(performance.now() - t0);
  }
  client.close();
  process.stdout.write(`${JSON.stringify({ rank, stepMs })}\n`);
}

/** Child: a loopback TCP sink that answers `ok` after `bytes` bytes; prints `{"port":N}`. */
async function sink(bytes: number): Promise<void> {
  const server = createServer((sock: Socket) => {
    let got = 0;
    sock.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= bytes) {
        got -= bytes;
        sock.write('ok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

/** Raw loopback TCP, one way, to another process: GB/s (the machine's ceiling for the exchange). */
async function rawTcpGBps(bytes: number): Promise<number> {
  const s = await startChild([SELF, '--sink', String(bytes)], portOf);
  try {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const c = connect(s.port, '127.0.0.1', () => resolve(c));
      c.once('error', reject);
    });
    const chunk = Buffer.alloc(4 << 20, 7);
    const once = (): Promise<number> =>
      new Promise((resolve) => {
        const t0 = performance.now();
        sock.once('data', () => resolve(performance.now() - t0));
        for (let sent = 0; sent < bytes; sent += chunk.length) sock.write(chunk);
      });
    await once(); // warm-up
    const ms = median([await once(), await once(), await once()]);
    sock.destroy();
    return bytes / 1e9 / (ms / 1000);
  } finally {
    s.child.kill('SIGTERM');
  }
}

async function gridPoint(
  addresses: string[],
  trainers: number,
  o: Required<Omit<ScaleOptions, 'quick'>>,
): Promise<ScalePoint> {
  const variables = syntheticVariables(o.paramsMillions);
  const jobId = `scale-${trainers}t-${addresses.length}s-${process.pid}`;
  const admin = new ParameterClient({
    jobId,
    shardAddresses: addresses,
    variables,
    channelOptions: clientOptions(maxMessageBytes(o.paramsMillions)),
  });
  await admin.init({
    seed: 1,
    optimizer: { type: 'sgd', learningRate: 1e-3 },
    worldSize: trainers,
    stepsPerEpoch: 1e9,
  });
  try {
    const results = await Promise.all(
      Array.from({ length: trainers }, (_, rank) => {
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            SELF,
            '--trainer',
            '--job',
            jobId,
            '--rank',
            String(rank),
            '--addresses',
            addresses.join(','),
            '--params',
            String(o.paramsMillions),
            '--compute-ms',
            String(o.computeMs),
            '--steps',
            String(o.steps),
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
        return new Promise<number[]>((resolve, reject) =>
          child.on('exit', (code) => {
            const last = out.trim().split('\n').at(-1) ?? '';
            if (code !== 0 || !last.startsWith('{'))
              reject(new Error(`scale trainer ${rank} failed (${code}): ${err}`));
            else resolve((JSON.parse(last) as { stepMs: number[] }).stepMs);
          }),
        );
      }),
    );
    const stepMs = median(results.flat());
    const bytes = floats(variables) * 4;
    const exchangeS = Math.max(1e-6, (stepMs - o.computeMs) / 1000);
    return {
      trainers,
      shards: addresses.length,
      stepMs,
      computeMs: o.computeMs,
      exchangeGBps: (trainers * bytes * 2) / 1e9 / exchangeS,
    };
  } finally {
    await admin.endJob().catch(() => 0);
    admin.close();
  }
}

/** Runs the grid; returns its rows, and the points for a table. */
export async function runScale(options: ScaleOptions): Promise<{ rows: BenchRow[]; points: ScalePoint[] }> {
  const o: Required<Omit<ScaleOptions, 'quick'>> = {
    paramsMillions: options.paramsMillions ?? 25,
    computeMs: options.computeMs ?? 100,
    steps: options.steps ?? (options.quick ? 1 : 3),
    trainers: options.trainers ?? (options.quick ? [1, 4] : [1, 2, 4, 8]),
    shards: options.shards ?? (options.quick ? [1, 2] : [1, 2, 4]),
  };
  for (const [field, list] of [
    ['--trainers', o.trainers],
    ['--shards', o.shards],
  ] as const)
    if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 16))
      throw new ValidationError(
        field,
        `must be a comma-separated list of integers 1..16, got ${list.join(',')}`,
      );
  if (!(o.computeMs >= 0)) throw new ValidationError('--compute-ms', `must be >= 0, got ${o.computeMs}`);
  if (!Number.isInteger(o.steps) || o.steps < 1)
    throw new ValidationError('--steps', `must be an integer >= 1, got ${o.steps}`);
  syntheticVariables(o.paramsMillions); // validates --params before anything starts
  const tcp = await rawTcpGBps(options.quick ? 128 << 20 : 256 << 20);
  const points: ScalePoint[] = [];
  for (const shards of o.shards) {
    const ps = await Promise.all(
      Array.from({ length: shards }, (_, i) =>
        startChild(
          [
            PS_MAIN,
            '--shard-index',
            String(i),
            '--log-level',
            'warn',
            '--max-message-bytes',
            String(maxMessageBytes(o.paramsMillions)),
          ],
          portOf,
        ),
      ),
    );
    try {
      for (const trainers of o.trainers)
        points.push(
          await gridPoint(
            ps.map((p) => `127.0.0.1:${p.port}`),
            trainers,
            o,
          ),
        );
    } finally {
      for (const p of ps) p.child.kill('SIGTERM');
    }
  }
  const compute = `synthetic-compute-${o.computeMs}ms`;
  const rows = points.flatMap((p) => {
    const at = `${p.trainers}t_${p.shards}s_${o.paramsMillions}M`;
    return [
      timeRow('scale', `step_ms_${at}`, 'ms', p.stepMs, compute, p.computeMs),
      rateRow('scale', `exchange_GBps_${at}`, 'GB/s', p.exchangeGBps, 'raw-tcp-1-stream', tcp),
    ];
  });
  return { rows, points };
}

/** The grid as a table of step / compute (on stderr: stdout carries the rows). */
export function printScaleTable(points: readonly ScalePoint[]): void {
  const shards = [...new Set(points.map((p) => p.shards))];
  const trainers = [...new Set(points.map((p) => p.trainers))];
  const cell = (t: number, s: number): string => {
    const p = points.find((x) => x.trainers === t && x.shards === s);
    return p ? `${sig(p.stepMs / p.computeMs, 3)}x (${sig(p.exchangeGBps, 2)} GB/s)` : '';
  };
  const lines = [
    `scale projection (SYNTHETIC COMPUTE, not training): step time / compute time (exchange GB/s)`,
    ['trainers', ...shards.map((s) => `${s} shard${s > 1 ? 's' : ''}`)].map((c) => c.padEnd(22)).join(''),
    ...trainers.map((t) => [String(t), ...shards.map((s) => cell(t, s))].map((c) => c.padEnd(22)).join('')),
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  withServiceMallocSettings();
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      trainer: { type: 'boolean', default: false },
      sink: { type: 'string' },
      job: { type: 'string' },
      rank: { type: 'string' },
      addresses: { type: 'string' },
      params: { type: 'string' },
      'compute-ms': { type: 'string' },
      steps: { type: 'string' },
      trainers: { type: 'string' },
      shards: { type: 'string' },
    },
  });
  const list = (s: string | undefined): number[] | undefined =>
    s === undefined ? undefined : s.split(',').map(Number);
  const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
  if (values.trainer) await trainer(values);
  else if (values.sink !== undefined) await sink(Number(values.sink));
  else {
    const { rows, points } = await runScale({
      quick: values.quick === true,
      ...(values.params ? { paramsMillions: Number(values.params) } : {}),
      ...(values['compute-ms'] ? { computeMs: num(values['compute-ms']) as number } : {}),
      ...(values.steps ? { steps: num(values.steps) as number } : {}),
      ...(values.trainers ? { trainers: list(values.trainers) as number[] } : {}),
      ...(values.shards ? { shards: list(values.shards) as number[] } : {}),
    });
    printRows(rows, values.json === true);
    if (values.json !== true) printScaleTable(points);
  }
}
