import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../job-spec.ts';
import { DistrainError } from '../errors.ts';
import { registerWasmKernels } from './wasm-kernels.ts';

/** The outcome of {@link selectBackend}: the tfjs backend now active and why it was chosen. */
export interface BackendSelection {
  /** tfjs backend name: 'tensorflow', 'wasm' or 'cpu'. */
  backend: string;
  /** One line for the log, e.g. "auto: tensorflow unavailable (...); using wasm". */
  reason: string;
}

/** The backend could not be loaded (e.g. `--backend tensorflow` without @tensorflow/tfjs-node). */
export class BackendError extends DistrainError {
  override name = 'BackendError';
}

// Native packages are optional dependencies; a variable specifier keeps TypeScript from needing
// their types and keeps bundlers from resolving them.
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

let wasmRegistered = false;
let nativeLoaded: string | undefined;

async function loadNative(): Promise<string> {
  if (nativeLoaded !== undefined) return nativeLoaded;
  const failures: string[] = [];
  for (const pkg of NATIVE_PACKAGES) {
    const specifier: string = pkg;
    try {
      await import(specifier);
      if (tf.findBackend('tensorflow') === undefined)
        throw new Error('package loaded but registered no tensorflow backend');
      nativeLoaded = pkg;
      return pkg;
    } catch (err) {
      failures.push(`${pkg}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  throw new BackendError(
    `the tensorflow backend needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, neither loads (${failures.join('; ')}); ` +
      `install one of them or use --backend wasm|cpu`,
  );
}

function wasmDistDir(): string {
  // The package's main file lives in dist/, beside the .wasm binaries.
  const require = createRequire(import.meta.url);
  return `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`;
}

async function loadWasm(): Promise<void> {
  if (!wasmRegistered) {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(wasmDistDir());
    wasmRegistered = true;
  }
  registerWasmKernels();
}

async function activate(name: string): Promise<void> {
  if (tf.getBackend() === name) return;
  const ok = await tf.setBackend(name);
  if (!ok) throw new BackendError(`tfjs backend ${name} failed to initialize`);
  await tf.ready();
}

/** Options of {@link selectBackend}. */
export interface SelectBackendOptions {
  /**
   * GPUs the job asked for per trainer (`trainers.gpus`). With gpus > 0, `auto` and `tensorflow`
   * must load the native GPU backend (`@tensorflow/tfjs-node-gpu`) or throw a {@link BackendError}
   * naming the field: a GPU job never falls back to CPU silently. An explicit `wasm` or `cpu` runs on
   * the CPU as asked. @default 0
   */
  gpus?: number;
}

async function loadGpu(gpus: number, backend: BackendName): Promise<string> {
  const pkg = NATIVE_PACKAGES[0];
  const specifier: string = pkg;
  try {
    await import(specifier);
    if (tf.findBackend('tensorflow') === undefined)
      throw new Error('package loaded but registered no tensorflow backend');
  } catch (err) {
    throw new BackendError(
      `spec.trainers.gpus is ${gpus} but the native GPU backend does not load (${pkg}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}) ` +
        `with spec.trainers.backend "${backend}"; use an image with ${pkg} and CUDA, or set spec.trainers.backend to wasm or cpu to run on the CPU deliberately`,
    );
  }
  nativeLoaded = pkg;
  return pkg;
}

/**
 * Loads and activates a tfjs backend. Idempotent: calling it again with the same name is cheap.
 *
 * - `tensorflow`: native TensorFlow via `@tensorflow/tfjs-node-gpu`, else `@tensorflow/tfjs-node`;
 *   throws {@link BackendError} when neither loads.
 * - `wasm`: `@tensorflow/tfjs-backend-wasm` (single-threaded in Node, SIMD binary), plus distrain's
 *   extra wasm kernels (`Conv2DBackpropFilter`, which the package lacks, faster
 *   `Conv2DBackpropInput`, `MaxPoolGrad` and transposed matMul; see wasm-kernels.ts).
 * - `cpu`: the pure-JS reference backend.
 * - `auto`: the first of tensorflow, wasm, cpu that loads.
 * - with `options.gpus > 0`, `auto` and `tensorflow` need `@tensorflow/tfjs-node-gpu` (no fallback).
 *
 * The caller logs `reason`.
 */
export async function selectBackend(
  name: BackendName,
  options: SelectBackendOptions = {},
): Promise<BackendSelection> {
  const gpus = options.gpus ?? 0;
  if (gpus > 0 && (name === 'auto' || name === 'tensorflow')) {
    const pkg = await loadGpu(gpus, name);
    await activate('tensorflow');
    return { backend: 'tensorflow', reason: `${name}: ${gpus} GPU(s) asked; using ${pkg}` };
  }
  switch (name) {
    case 'tensorflow': {
      const pkg = await loadNative();
      await activate('tensorflow');
      return { backend: 'tensorflow', reason: `requested tensorflow; using ${pkg}` };
    }
    case 'wasm':
      await loadWasm();
      await activate('wasm');
      return { backend: 'wasm', reason: 'requested wasm' };
    case 'cpu':
      await activate('cpu');
      return { backend: 'cpu', reason: 'requested cpu' };
    case 'auto': {
      const skipped: string[] = [];
      try {
        const pkg = await loadNative();
        await activate('tensorflow');
        return { backend: 'tensorflow', reason: `auto: native TensorFlow from ${pkg}` };
      } catch (err) {
        skipped.push(`tensorflow unavailable (${err instanceof Error ? err.message : String(err)})`);
      }
      try {
        await loadWasm();
        await activate('wasm');
        return { backend: 'wasm', reason: `auto: ${skipped.join('; ')}; using wasm` };
      } catch (err) {
        skipped.push(`wasm unavailable (${err instanceof Error ? err.message : String(err)})`);
      }
      await activate('cpu');
      return { backend: 'cpu', reason: `auto: ${skipped.join('; ')}; using cpu` };
    }
    default: {
      const bad: never = name;
      throw new BackendError(`unknown backend ${String(bad)}`);
    }
  }
}
