/**
 * Start-up cost of each long-running role: milliseconds from spawn to its `listening` line, and
 * its resident memory (VmRSS) and whether it had loaded TensorFlow.js by then (a module-resolve
 * recorder, test/support/import-recorder.mjs). Also
 * times `distrain --help`. Each is measured `repeats` times; medians are reported.
 *
 *   node --import tsx bench/startup.ts [--json] [--repeats N] [--compiled]
 *
 * `--compiled` starts compiled JavaScript (as the images and the local stack do) instead of the
 * TypeScript: the `dist/` folders, first brought up to date with the sources as `distrain run` does
 * (packages/cli/src/compile.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServiceProcess } from '@distrain/core';
import { compileServices } from '../packages/cli/src/compile.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface StartupResult {
  role: string;
  startMs: number;
  rssMB: number;
  tfjsLoaded: boolean;
}

const ROLES: Record<string, string[]> = {
  'parameter-server': ['services/parameter-server/src/main.ts', '--port', '0'],
  'data-loader': ['services/data-loader/src/main.ts', '--port', '0'],
  coordinator: [
    'services/coordinator/src/main.ts',
    '--port',
    '0',
    '--loader',
    '127.0.0.1:1',
    '--ps',
    '127.0.0.1:2',
  ],
};

function rssMBOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function startOnce(role: string, dir: string, i: number, compiled: boolean): Promise<StartupResult> {
  const [source = '', ...args] = ROLES[role]!;
  // Compiled: the dist/ JavaScript, as the images and the local stack run it.
  const entry = compiled ? source.replace('/src/main.ts', '/dist/main.js') : source;
  const log = join(dir, `${role}-${i}.log`);
  const t0 = performance.now();
  const service = await startServiceProcess({
    name: role,
    entry: `${ROOT}${entry}`,
    args,
    cwd: ROOT,
    env: { DISTRAIN_LOG_LEVEL: 'warn', DISTRAIN_IMPORT_LOG: log, DISTRAIN_AUTH_TOKEN: 'bench-startup' },
    execArgv: [
      ...(compiled ? ['--conditions=compiled'] : ['--import', 'tsx']),
      '--import',
      `${ROOT}test/support/import-recorder.mjs`,
    ],
  });
  const startMs = performance.now() - t0;
  const rssMB = rssMBOf(service.child.pid!);
  await service.stop('SIGKILL');
  const tfjsLoaded = readFileSync(log, 'utf8').includes('@tensorflow');
  return { role, startMs, rssMB, tfjsLoaded };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

export async function measureStartup(repeats = 3, compiled = false): Promise<StartupResult[]> {
  if (compiled) {
    const c = await compileServices(ROOT);
    if (!c.ok) throw new Error(`cannot compile the services: ${c.reason}`);
  }
  const out: StartupResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'distrain-startup-'));
  for (const role of Object.keys(ROLES)) {
    const runs: StartupResult[] = [];
    for (let i = 0; i < repeats; i++) runs.push(await startOnce(role, dir, i, compiled));
    out.push({
      role,
      startMs: median(runs.map((r) => r.startMs)),
      rssMB: median(runs.map((r) => r.rssMB)),
      tfjsLoaded: runs.some((r) => r.tfjsLoaded),
    });
  }
  const help: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [`${ROOT}packages/cli/bin/distrain.js`, '--help'], {
      stdio: 'ignore',
    });
    if (r.status !== 0) throw new Error(`distrain --help exited with ${r.status}`);
    help.push(performance.now() - t0);
  }
  out.push({ role: 'distrain --help', startMs: median(help), rssMB: 0, tfjsLoaded: false });
  rmSync(dir, { recursive: true, force: true });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const json = process.argv.includes('--json');
  const ri = process.argv.indexOf('--repeats');
  const results = await measureStartup(
    ri > 0 ? Number(process.argv[ri + 1]) : 3,
    process.argv.includes('--compiled'),
  );
  for (const r of results) {
    if (json) console.log(JSON.stringify(r));
    else
      console.log(
        `${r.role.padEnd(18)} ${r.startMs.toFixed(0).padStart(6)} ms  ${r.rssMB.toFixed(0).padStart(4)} MB  tfjs ${r.tfjsLoaded ? 'loaded' : 'not loaded'}`,
      );
  }
}
