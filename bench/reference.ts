/**
 * Reference benchmark: the same MLP in PyTorch (Debian's `python3-torch`, one thread per process,
 * same batch and optimizer) when it is installed, with OpenBLAS fetched into the cache (blas.ts):
 *   - one process (bench/reference.py) against distrain with 2 trainers and the in-process tfjs loop:
 *     samples/s and time to 85% test accuracy (accuracy every EVAL_EVERY steps);
 *   - PyTorch DDP (bench/ddp.py: gloo on loopback, 1 and 2 processes, the same global batch) as the
 *     peer of distrain's 2-trainer row, and DDP's 2-process / 1-process speed-up beside distrain's
 *     2-trainer / 1-trainer one.
 * PyTorch reports which BLAS it really mapped; every PyTorch row is withheld (with the reason) when it
 * is the reference BLAS or OpenBLAS computes a wrong sgemm. Skipped with a printed reason when PyTorch
 * is absent: the only benchmark allowed to skip.
 *
 *   node --import tsx bench/reference.ts [--json] [--quick]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchArgs, printRows, rateRow, sig, timeRow, withServiceMallocSettings } from './common.ts';
import type { BenchRow } from './common.ts';
import { describeBlas, obtainOpenBlas } from './blas.ts';
import type { BlasInfo } from './blas.ts';
import { distrainRun } from './distrain-run.ts';
import type { Run } from './distrain-run.ts';
import { EVAL_EVERY } from './training.ts';
import type { TrainingRuns } from './training.ts';

const HERE = fileURLToPath(new URL('./', import.meta.url));
const PYTHON = '/usr/bin/python3';

/** Why PyTorch cannot run here, or null when it can. */
export function torchMissing(): string | null {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} not found`;
  if (probe.status !== 0) return 'PyTorch is not installed (apt-get install python3-torch)';
  return null;
}

type TorchRun = Run & { torch?: string; blas?: BlasInfo; blasLibraries?: string[] };

function python(script: string, args: string[], env: NodeJS.ProcessEnv): TorchRun {
  const res = spawnSync(PYTHON, [`${HERE}${script}`, ...args], { encoding: 'utf8', env, timeout: 900_000 });
  if (res.status !== 0)
    throw new Error(`${script} failed (${res.status ?? res.signal}): ${res.stderr.slice(-2000)}`);
  const last = res.stdout.trim().split('\n').at(-1) ?? '';
  const r = JSON.parse(last) as TorchRun & { stepsToTarget: number | null };
  return { ...r, evalEverySteps: EVAL_EVERY, backend: 'pytorch' };
}

/** Runs the reference benchmark; reuses the training benchmark's runs when given. */
export async function runReference(
  quick: boolean,
  notes: string[] = [],
  runs: TrainingRuns = new Map(),
): Promise<BenchRow[]> {
  const missing = torchMissing();
  if (missing) {
    notes.push(`reference skipped: ${missing}`);
    return [];
  }
  const epochs = quick ? 1 : 3;
  const blas = obtainOpenBlas();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_NUM_THREADS: '1',
    OPENBLAS_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
  };
  if ('libDir' in blas)
    env['LD_LIBRARY_PATH'] = [blas.libDir, process.env['LD_LIBRARY_PATH']].filter(Boolean).join(':');
  else notes.push(`reference: no OpenBLAS: ${blas.missing}`);
  if (process.env['OPENBLAS_CORETYPE'])
    notes.push(
      `reference: OPENBLAS_CORETYPE=${process.env['OPENBLAS_CORETYPE']} kept from the environment (older OpenBLAS builds misbehave without it here)`,
    );
  const common = ['--epochs', String(epochs), '--eval-every', String(EVAL_EVERY)];
  const torch = python('reference.py', common, env);
  const { label, refuse } = describeBlas(torch.blas as BlasInfo);
  notes.push(`reference: PyTorch ${torch.torch} BLAS: ${label}`);
  if (refuse) {
    notes.push(refuse);
    return [];
  }
  const ddp = [1, 2].map((world) => python('ddp.py', ['--world', String(world), ...common], env));
  for (const d of ddp)
    if (!d.blasLibraries?.some((l) => l.includes('openblas')))
      throw new Error(`ddp.py did not map OpenBLAS: ${JSON.stringify(d.blasLibraries)}`);
  const [ddp1, ddp2] = ddp as [TorchRun, TorchRun];
  const distrain1 =
    runs.get('distrain-1') ??
    (await distrainRun({ trainers: 1, epochs, backend: 'wasm', evalEvery: EVAL_EVERY }));
  const distrain2 =
    runs.get('distrain-2') ??
    (await distrainRun({ trainers: 2, epochs, backend: 'wasm', evalEvery: EVAL_EVERY }));
  const kernel = `${(torch.blas as BlasInfo).core ?? 'unknown'}`;
  const peer = `pytorch-${torch.torch}-1-thread-openblas-${kernel}`;
  const ddpPeer = `pytorch-ddp-gloo-2-proc-openblas-${kernel}`;
  const rows = [
    rateRow(
      'reference',
      'samples_per_s_2_trainers',
      'samples/s',
      distrain2.samplesPerSecond,
      peer,
      torch.samplesPerSecond,
    ),
    rateRow(
      'reference',
      'samples_per_s_2_trainers',
      'samples/s',
      distrain2.samplesPerSecond,
      ddpPeer,
      ddp2.samplesPerSecond,
    ),
    rateRow(
      'reference',
      'speedup_2_over_1_trainers',
      'x',
      distrain2.samplesPerSecond / distrain1.samplesPerSecond,
      'pytorch-ddp-gloo-2-over-1-proc',
      ddp2.samplesPerSecond / ddp1.samplesPerSecond,
    ),
  ];
  const inProcess = runs.get('in-process');
  if (inProcess)
    rows.push(
      rateRow(
        'reference',
        'samples_per_s_in_process_tfjs',
        'samples/s',
        inProcess.samplesPerSecond,
        peer,
        torch.samplesPerSecond,
      ),
    );
  const timed: [string, Run | undefined, Run, string][] = [
    ['time_to_85pct_2_trainers', distrain2, torch, peer],
    ['time_to_85pct_2_trainers', distrain2, ddp2, ddpPeer],
    ['time_to_85pct_in_process_tfjs', inProcess, torch, peer],
  ];
  for (const [metric, ours, theirs, who] of timed) {
    if (!ours) continue;
    if (ours.timeToTarget !== null && theirs.timeToTarget !== null)
      rows.push(timeRow('reference', metric, 's', ours.timeToTarget, who, theirs.timeToTarget));
    else
      notes.push(
        `reference ${metric} vs ${who}: 85% not reached in ${epochs} epoch(s) (final accuracy ${sig(ours.accuracy, 3)} vs ${sig(theirs.accuracy, 3)})`,
      );
  }
  notes.push(
    `reference: speed-up 2 over 1: distrain ${sig(distrain2.samplesPerSecond / distrain1.samplesPerSecond, 3)}x (${sig(distrain1.samplesPerSecond)} -> ${sig(distrain2.samplesPerSecond)} samples/s), PyTorch DDP ${sig(ddp2.samplesPerSecond / ddp1.samplesPerSecond, 3)}x (${sig(ddp1.samplesPerSecond)} -> ${sig(ddp2.samplesPerSecond)})`,
  );
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  withServiceMallocSettings();
  const args = benchArgs();
  const notes: string[] = [];
  printRows(await runReference(args.quick, notes), args.json);
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
}
