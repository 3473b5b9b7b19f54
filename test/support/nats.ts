import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A nats-server with JetStream on a free port, for one test file. */
export interface NatsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts `nats-server -js` on a random port (`-p -1`; the port is read from its log) with a fresh
 * store folder. Fails (never skips) when nats-server is not installed.
 */
export function startNatsServer(): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'distrain-nats-'));
  const child: ChildProcess = spawn('nats-server', ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server did not start: ${log}`));
    }, 15_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`nats-server is required (apt-get install nats-server): ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code}): ${log}`));
    });
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /Listening for client connections on [^\s]+:(\d+)/.exec(log);
      if (m && /Server is ready/.test(log)) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        const port = Number(m[1]);
        resolve({
          url: `nats://127.0.0.1:${port}`,
          port,
          stop: () =>
            new Promise<void>((done) => {
              const finish = (): void => {
                rmSync(dir, { recursive: true, force: true });
                done();
              };
              if (child.exitCode !== null) return finish();
              child.once('exit', finish);
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}
