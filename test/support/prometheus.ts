import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One Prometheus scrape job: static targets and/or an HTTP service-discovery URL. */
export interface ScrapeJob {
  name: string;
  targets?: string[];
  httpSd?: string;
}

/** A running Prometheus with its HTTP API. */
export interface PrometheusServer {
  url: string;
  /** `/api/v1/query_range`: the result series (matrix). */
  queryRange(
    expr: string,
    startS: number,
    endS: number,
    stepS?: number,
  ): Promise<{ metric: Record<string, string>; values: [number, string][] }[]>;
  /** `/api/v1/query` at `timeS` (default now): the result vector. */
  query(expr: string, timeS?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** `/api/v1/targets`: active targets with their health. */
  targets(): Promise<{ scrapePool: string; scrapeUrl: string; health: string; lastError: string }[]>;
  stop(): Promise<void>;
}

/**
 * Starts a real Prometheus (Debian 2.42) scraping every second, with a fresh TSDB. Fails (never
 * skips) when prometheus is not installed.
 */
export async function startPrometheus(jobs: ScrapeJob[]): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'distrain-prom-'));
  const port = await freePort();
  const scrapeConfigs = jobs.map((j) => {
    const lines = [
      `  - job_name: ${JSON.stringify(j.name)}`,
      '    scrape_interval: 1s',
      '    scrape_timeout: 1s',
    ];
    if (j.targets) lines.push('    static_configs:', `      - targets: ${JSON.stringify(j.targets)}`);
    if (j.httpSd)
      lines.push(
        '    http_sd_configs:',
        `      - url: ${JSON.stringify(j.httpSd)}`,
        '        refresh_interval: 1s',
      );
    return lines.join('\n');
  });
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${scrapeConfigs.join('\n')}\n`,
  );
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const spawned = new Promise<void>((_, reject) => {
    child.once('error', (err) =>
      reject(new Error(`prometheus is required (apt-get install prometheus): ${err.message}`)),
    );
    child.once('exit', (code) => reject(new Error(`prometheus exited (${code}): ${log}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const ready = (async () => {
    for (let i = 0; i < 300; i++) {
      try {
        if ((await fetch(`${url}/-/ready`)).ok) return;
      } catch {
        // not up yet
      }
      await sleep(100);
    }
    throw new Error(`prometheus did not get ready: ${log}`);
  })();
  await Promise.race([ready, spawned]);
  child.removeAllListeners('exit');
  const api = async <T>(path: string, params: Record<string, string>): Promise<T> => {
    const res = await fetch(`${url}${path}?${new URLSearchParams(params).toString()}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success')
      throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.error ?? res.status}`);
    return body.data;
  };
  return {
    url,
    queryRange: async (expr, startS, endS, stepS = 1) =>
      (
        await api<{ result: { metric: Record<string, string>; values: [number, string][] }[] }>(
          '/api/v1/query_range',
          { query: expr, start: String(startS), end: String(endS), step: String(stepS) },
        )
      ).result,
    query: async (expr, timeS) =>
      (
        await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
          '/api/v1/query',
          { query: expr, ...(timeS === undefined ? {} : { time: String(timeS) }) },
        )
      ).result,
    targets: async () =>
      (
        await api<{
          activeTargets: { scrapePool: string; scrapeUrl: string; health: string; lastError: string }[];
        }>('/api/v1/targets', {})
      ).activeTargets,
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
  };
}
