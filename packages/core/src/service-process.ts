import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { LINKED_STDIO } from './parent-link.ts';

/** A service started as a child process, once it has printed its `listening` line. */
export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  /** The gRPC port it bound. */
  port: number;
  /** The `/metrics` port it bound (0: none). */
  metricsPort: number;
  /** Every other field of its `listening` line (e.g. a data-plane port). */
  listening: Record<string, unknown>;
  /** The last 8 KB of its stderr, for failure messages. */
  log(): string;
  /** Sends `signal` (SIGTERM), then SIGKILL after `graceMs` (10 s); resolves once it has exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** Options of {@link startServiceProcess}. */
export interface ServiceProcessOptions {
  /** Name used in errors and log callbacks. */
  name: string;
  /** The module to run (a `main.ts` run through tsx, or compiled JavaScript). */
  entry: string;
  args?: string[];
  /** Added to the parent's environment. */
  env?: Record<string, string>;
  /** Node flags before the entry. @default ['--import', 'tsx'] when `entry` ends in `.ts` */
  execArgv?: string[];
  cwd?: string;
  /** Receives every stderr line, and stdout lines that are not the listening line. */
  onLog?: (name: string, line: string) => void;
  /** Called with the child right after it is spawned (e.g. to stop it with its siblings on failure). */
  onSpawn?: (child: ChildProcess) => void;
  /** How long to wait for the listening line. @default 60000 */
  startTimeoutMs?: number;
}

/**
 * Spawns a distrain service and waits for the `{"event":"listening","port":N,...}` line every
 * `main.ts` prints on stdout. Rejects (and kills the child) if it exits or stays silent first. The
 * child is linked to this process (an IPC channel, `parent-link.ts`): it exits when this process
 * dies, and `child.send(notice)` reaches its `onNotice`.
 */
export function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  const { name, entry } = options;
  const execArgv = options.execArgv ?? (entry.endsWith('.ts') ? ['--import', 'tsx'] : []);
  const child = spawn(process.execPath, [...execArgv, entry, ...(options.args ?? [])], {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: { ...process.env, ...options.env },
    // Linked: the service exits when this process dies (see parent-link.ts).
    stdio: [...LINKED_STDIO],
  });
  const stdout = child.stdout as Readable;
  const stderr = child.stderr as Readable;
  options.onSpawn?.(child);
  let log = '';
  createInterface({ input: stderr }).on('line', (line) => {
    log = `${log}${line}\n`.slice(-8000);
    options.onLog?.(name, line);
  });
  const stop = (signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      child.kill(signal);
    });
  return new Promise((resolve, reject) => {
    let started = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${options.startTimeoutMs ?? 60_000} ms: ${log}`));
    }, options.startTimeoutMs ?? 60_000);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before listening: ${log}`));
    };
    child.once('exit', onExit);
    createInterface({ input: stdout }).on('line', (line) => {
      if (!started && line.startsWith('{')) {
        let msg: Record<string, unknown> | undefined;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          msg = undefined;
        }
        if (msg?.event === 'listening' && typeof msg.port === 'number') {
          started = true;
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve({
            name,
            child,
            port: msg.port,
            metricsPort: typeof msg.metricsPort === 'number' ? msg.metricsPort : 0,
            listening: msg,
            log: () => log,
            stop,
          });
          return;
        }
      }
      options.onLog?.(name, line);
    });
  });
}
