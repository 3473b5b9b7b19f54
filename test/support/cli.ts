import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setDefaultClientSecurity } from '@distrain/core';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run the shipped CLI and examples from there). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}packages/cli/bin/distrain.js`;

/**
 * The CLI's config directory for this test process (`DISTRAIN_CONFIG_DIR`, inherited by every
 * `distrain` it starts): `distrain up` writes its token there and the client commands read it, never
 * the user's own ~/.config/distrain.
 */
export const CONFIG_DIR =
  process.env['DISTRAIN_CONFIG_DIR'] ?? mkdtempSync(join(tmpdir(), 'distrain-config-'));
if (process.env['DISTRAIN_CONFIG_DIR'] === undefined) {
  process.env['DISTRAIN_CONFIG_DIR'] = CONFIG_DIR;
  process.once('exit', () => rmSync(CONFIG_DIR, { recursive: true, force: true }));
}

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
  /** The deployment token `distrain up` wrote (this process's core clients send it by default). */
  token: string;
  child: ChildProcess;
  /** Its stderr so far (the last 5000 characters). */
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `distrain up --port 0` (its state folder a fresh temporary one) and waits for its address. */
export function startUp(
  args: string[] = [],
  options: { env?: Record<string, string> } = {},
): Promise<UpStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'distrain-up-state-'));
  const child = spawn(process.execPath, [BIN, 'up', '--port', '0', '--state-dir', stateDir, ...args], {
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
      const msg = JSON.parse(line) as { event?: string; coordinator?: string; tokenFile?: string };
      if (msg.event === 'up' && msg.coordinator) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        const token = readFileSync(msg.tokenFile ?? join(CONFIG_DIR, 'token'), 'utf8').trim();
        setDefaultClientSecurity({ token });
        resolve({
          coordinator: msg.coordinator,
          token,
          child,
          stderr: () => stderr,
          stop: () =>
            new Promise<void>((done) => {
              const finish = (): void => {
                rmSync(stateDir, { recursive: true, force: true });
                done();
              };
              if (child.exitCode !== null) return finish();
              const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
              child.once('exit', () => {
                clearTimeout(kill);
                finish();
              });
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}

/**
 * Checks, in the stderr of `distrain run -v` with one trainer, that the trainer applied every step
 * itself (its whole-run breakdown counts them) and its copy never differed from the shards'.
 */
export function assertOwnSteps(stderr: string): void {
  assert.doesNotMatch(stderr, /differ from the trainer's own copy/);
  const m =
    /trainer 0 \(whole run, (\d+) steps applied by the trainer\): mean step [\d.]+ ms \((\d+) steps\)/.exec(
      stderr,
    );
  assert.ok(m, `no whole-run breakdown of a trainer applying its own steps in:\n${stderr.slice(-3000)}`);
  assert.equal(Number(m[1]), Number(m[2]), 'every step applied by the trainer');
}
