import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run the shipped CLI and examples from there). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}packages/cli/bin/distrain.js`;

/** Result of one CLI run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout lines that parse as JSON. */
  json: Record<string, unknown>[];
}

/** Runs `distrain ARGS` to completion (killed after `timeoutMs`). */
export function runCli(
  args: string[],
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `distrain ${args.join(' ')} timed out after ${options.timeoutMs ?? 300_000} ms\n${stderr.slice(-3000)}`,
        ),
      );
    }, options.timeoutMs ?? 300_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const json: Record<string, unknown>[] = [];
      for (const line of stdout.split('\n')) {
        try {
          if (line.startsWith('{')) json.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not JSON
        }
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

/** A running `distrain up`. */
export interface UpStack {
  coordinator: string;
  child: ChildProcess;
  /** Its stderr so far (the last 5000 characters). */
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `distrain up --port 0` and waits for its address. */
export function startUp(
  args: string[] = [],
  options: { env?: Record<string, string> } = {},
): Promise<UpStack> {
  const child = spawn(process.execPath, [BIN, 'up', '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-5000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`distrain up did not start: ${stderr}`));
    }, 90_000);
    child.once('exit', (code) => reject(new Error(`distrain up exited (${code}): ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const msg = JSON.parse(line) as { event?: string; coordinator?: string };
      if (msg.event === 'up' && msg.coordinator) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({
          coordinator: msg.coordinator,
          child,
          stderr: () => stderr,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
              child.once('exit', () => {
                clearTimeout(kill);
                done();
              });
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}
