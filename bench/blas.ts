/**
 * An optimized BLAS for the PyTorch peers without touching the system: Debian's python3-torch
 * loads whatever `libblas.so.3` resolves to, which is the reference BLAS unless OpenBLAS is
 * installed. The bench fetches `libopenblas0-pthread` with `apt-get download` into a cache folder
 * (`$XDG_CACHE_HOME/distrain/openblas`, else the repository's ignored `.cache/openblas`), unpacks it
 * with `dpkg-deb -x` and runs python with `LD_LIBRARY_PATH` on its `openblas-pthread/` folder, where
 * its `libblas.so.3` is. Python then reports which BLAS it really mapped (torchbench.blas_info).
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PACKAGE = 'libopenblas0-pthread';
const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Where the unpacked package lives. */
export function openBlasCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CACHE_HOME'];
  return xdg ? join(xdg, 'distrain', 'openblas') : join(ROOT, '.cache', 'openblas');
}

/** The folder holding OpenBLAS's `libblas.so.3` (fetched once, then reused), or why there is none. */
export function obtainOpenBlas(
  env: NodeJS.ProcessEnv = process.env,
): { libDir: string } | { missing: string } {
  const cache = openBlasCacheDir(env);
  const root = join(cache, 'root');
  const find = (): string | undefined => {
    const lib = join(root, 'usr', 'lib');
    if (!existsSync(lib)) return undefined;
    for (const arch of readdirSync(lib)) {
      const dir = join(lib, arch, 'openblas-pthread');
      if (existsSync(join(dir, 'libblas.so.3'))) return dir;
    }
    return undefined;
  };
  const found = find();
  if (found) return { libDir: found };
  mkdirSync(cache, { recursive: true });
  const download = spawnSync('apt-get', ['download', PACKAGE], {
    cwd: cache,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (download.error || download.status !== 0) {
    return {
      missing: `apt-get download ${PACKAGE} failed (${download.error?.message ?? download.stderr.trim().split('\n').at(-1)}); run 'apt-get update' or put ${PACKAGE}'s libblas.so.3 under ${root}`,
    };
  }
  const deb = readdirSync(cache).find((f) => f.startsWith(`${PACKAGE}_`) && f.endsWith('.deb'));
  if (!deb) return { missing: `apt-get download ${PACKAGE} left no .deb in ${cache}` };
  const unpack = spawnSync('dpkg-deb', ['-x', join(cache, deb), root], { encoding: 'utf8' });
  if (unpack.error || unpack.status !== 0)
    return { missing: `dpkg-deb -x ${deb} failed: ${unpack.error?.message ?? unpack.stderr.trim()}` };
  return find() ? { libDir: find() as string } : { missing: `${deb} has no openblas-pthread/libblas.so.3` };
}

/** What a PyTorch peer reports about its BLAS (bench/torchbench.py blas_info). */
export interface BlasInfo {
  libraries: string[];
  openblas: boolean;
  core: string | null;
  sgemm1024GFlops: number;
  maxAbsError: number;
  correct: boolean;
}

/** One line for people: which BLAS, which kernel, how fast; and why a ratio is refused, if it is. */
export function describeBlas(b: BlasInfo): { label: string; refuse: string | null } {
  const lib = b.libraries.find((l) => /blas/.test(l)) ?? 'no BLAS mapped';
  const label = `${b.openblas ? `OpenBLAS (${b.core ?? 'unknown'} kernel)` : 'reference BLAS'}: ${lib}, sgemm 1024 ${b.sgemm1024GFlops} GFLOP/s on 1 thread`;
  if (!b.openblas)
    return {
      label,
      refuse: `PyTorch ratios withheld: torch runs on the reference BLAS (${lib}), not an optimized one`,
    };
  if (!b.correct)
    return {
      label,
      refuse: `PyTorch ratios withheld: OpenBLAS's ${b.core} kernel gave a wrong sgemm (max error ${b.maxAbsError})`,
    };
  return { label, refuse: null };
}
