/**
 * Reference benchmark: the same MLP in a PyTorch loop (same batch, optimizer, one thread) when
 * Debian's `python3-torch` is installed (`/usr/bin/python3 -c "import torch"`), reported as ratios of
 * distrain (2 trainers) and of the in-process tfjs loop to it. Skipped with a printed reason when
 * PyTorch is absent: the only benchmark allowed to skip.
 *
 *   node --import tsx bench/reference.ts [--json] [--quick]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchArgs, printRows, rateRow, timeRow } from './common.ts';
import type { BenchRow } from './common.ts';
import { distrainRun } from './training.ts';
import type { Run, TrainingRuns } from './training.ts';

const SCRIPT = fileURLToPath(new URL('./reference.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

/** Why PyTorch cannot run here, or null when it can. */
export function torchMissing(): string | null {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} not found`;
  if (probe.status !== 0) return 'PyTorch is not installed (apt-get install python3-torch)';
  return null;
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
  const res = spawnSync(PYTHON, [SCRIPT, String(epochs)], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
  });
  if (res.status !== 0) throw new Error(`reference.py failed: ${res.stderr}`);
  const torch = JSON.parse(res.stdout.trim().split('\n').at(-1) ?? '{}') as Run & { torch: string };
  const distrain = runs.get('distrain-2') ?? (await distrainRun(2, epochs, 'wasm'));
  const peer = `pytorch-${torch.torch}-1-thread`;
  const rows = [
    rateRow(
      'reference',
      'samples_per_s_2_trainers',
      'samples/s',
      distrain.samplesPerSecond,
      peer,
      torch.samplesPerSecond,
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
  if (distrain.timeToTarget !== null && torch.timeToTarget !== null) {
    rows.push(
      timeRow('reference', 'time_to_85pct_2_trainers', 's', distrain.timeToTarget, peer, torch.timeToTarget),
    );
  } else {
    notes.push(
      `reference time to 85%: not reached in ${epochs} epoch(s) (distrain ${distrain.accuracy}, pytorch ${torch.accuracy})`,
    );
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = benchArgs();
  const notes: string[] = [];
  printRows(await runReference(args.quick, notes), args.json);
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
}
