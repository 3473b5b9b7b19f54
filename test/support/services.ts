import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ROOT } from './cli.ts';

/** One service process started by a test. */
export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  metricsPort: number;
  /** Last log lines (stderr), for failure messages. */
  log(): string;
  /** SIGTERM (or the signal given), SIGKILL after 10 s; resolves when it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `services/<role>/src/main.ts ARGS` and waits for its `{"event":"listening"}` line. */
export function startService(
  role: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}services/${role}/src/main.ts`, ...args], {
    cwd: ROOT,
    env: { ...process.env, DISTRAIN_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-8000)));
  const stop = (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      child.kill(signal);
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${role} did not start: ${log}`));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited (${code}) before listening: ${log}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const msg = JSON.parse(line) as { event?: string; port?: number; metricsPort?: number };
      if (msg.event === 'listening' && typeof msg.port === 'number') {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, port: msg.port, metricsPort: msg.metricsPort ?? 0, log: () => log, stop });
      }
    });
  });
}
