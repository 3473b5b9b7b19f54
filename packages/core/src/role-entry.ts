import { fileURLToPath } from 'node:url';

/** How to start a service role's process: its entry module and the Node flags it needs. */
export interface RoleEntry {
  /** Absolute path of the role's entry module. */
  entry: string;
  /** Node flags before it: `--import tsx` for TypeScript, `--conditions=compiled` for JavaScript. */
  execArgv: string[];
  /** The same relative to the repository root, as a container command (`node ...flags entry`). */
  command: string[];
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/**
 * glibc malloc settings every distrain process starts with (`GLIBC_TUNABLES`; the images set the
 * same in their ENV): allocations under 32 MiB (glibc's largest mmap threshold) come from malloc's
 * arenas, not a fresh `mmap` each, and an arena gives freed memory back to the system only above
 * 128 MiB free at its top.
 *
 * Why: every step moves the model's bytes through fresh buffers (ZeroMQ frames, gRPC reads,
 * decoded messages). With glibc's own thresholds (2x a dynamic mmap threshold, a few MB) the arenas
 * shrink after each step and the next step touches the same amount of memory anew: one page fault
 * per 4 KiB page. Measured on the development VM (Firecracker, 2 vCPUs) a page fault costs 16.5 µs,
 * so 1 MB of fresh memory costs ~4 ms; the shard took 1,770 faults/s and the loader 990 during a
 * 2-trainer Fashion-MNIST run, 180 and 36 with these settings, and the run trained 10-13% faster
 * (BENCHMARKS.md, "Page faults"). The cost: a process may keep up to 128 MiB of freed memory per
 * arena instead of returning it.
 */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=134217728';

/**
 * The environment to add for a distrain process started from one with `env`: `GLIBC_TUNABLES` set to
 * {@link MALLOC_TUNABLES}, or nothing when `env` sets `GLIBC_TUNABLES` already (the operator's wins).
 */
export function mallocEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return env['GLIBC_TUNABLES'] === undefined ? { GLIBC_TUNABLES: MALLOC_TUNABLES } : {};
}

/** True when this module runs compiled (`packages/core/dist`), as in the images. */
export const RUNNING_COMPILED = import.meta.url.endsWith('.js');

/**
 * The entry of `services/<role>` in the same form as the running code: compiled JavaScript
 * (`dist/main.js` with `--conditions=compiled`) when this process runs compiled, else TypeScript
 * through tsx (`src/main.ts`).
 */
export function roleEntry(role: string, compiled = RUNNING_COMPILED): RoleEntry {
  const relative = compiled ? `services/${role}/dist/main.js` : `services/${role}/src/main.ts`;
  const execArgv = compiled ? ['--conditions=compiled'] : ['--import', 'tsx'];
  return { entry: `${ROOT}${relative}`, execArgv, command: ['node', ...execArgv, relative] };
}
