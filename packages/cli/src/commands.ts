import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { isServiceError, jobClient, sleep, unary } from '@distrain/core';
import type { Job__Output, JobEvent__Output, JobServiceClient } from '@distrain/core';
import { HumanRenderer, eventJson, summarize } from './render.ts';
import type { RunSummary } from './render.ts';

/** A connected JobService client. */
export function connect(address: string): JobServiceClient {
  return jobClient(address);
}

const TERMINAL = new Set(['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED']);

/** Submits a spec (YAML or JSON text); the coordinator validates it again. */
export async function submit(client: JobServiceClient, specText: string): Promise<Job__Output> {
  const res = await unary(client, client.submitJob, { spec: specText }, { timeoutMs: 120_000 });
  return res.job as Job__Output;
}

/** Options of {@link watch}. */
export interface WatchOptions {
  json: boolean;
  /** Reconnect attempts when the coordinator goes away. @default 30 */
  reconnects?: number;
}

/**
 * Follows a job until it ends: replayed history, then live events; reconnects (deduplicating by
 * sequence) when the coordinator restarts. Returns the final job record.
 */
export async function watch(
  client: JobServiceClient,
  id: string,
  options: WatchOptions,
): Promise<Job__Output> {
  const human = options.json ? undefined : new HumanRenderer();
  let lastSeq = 0;
  let failures = 0;
  for (;;) {
    try {
      const ended = await new Promise<boolean>((resolve, reject) => {
        const call = client.watchJob({ id }, new Metadata());
        call.on('data', (e: JobEvent__Output) => {
          failures = 0;
          if (e.sequence <= lastSeq) return;
          lastSeq = e.sequence;
          if (options.json) process.stdout.write(`${eventJson(e)}\n`);
          else human?.event(e);
        });
        call.on('error', reject);
        call.on('end', () => resolve(true));
      });
      if (ended) break;
    } catch (err) {
      if (
        isServiceError(err) &&
        err.code === GrpcStatus.UNAVAILABLE &&
        failures++ < (options.reconnects ?? 30)
      ) {
        // A restarted coordinator (with NATS) replays the history; sequences continue, so dedupe holds.
        human?.reconnecting(failures, err.details || 'unavailable');
        await sleep(Math.min(500 * failures, 5_000));
        continue;
      }
      throw err;
    }
  }
  // The stream ends with the terminal state; the record has the final numbers.
  for (let i = 0; ; i++) {
    const job = (await unary(client, client.getJob, { id }, { timeoutMs: 10_000, retries: 5 }))
      .job as Job__Output;
    if (TERMINAL.has(job.state) || i >= 20) return job;
    await sleep(250);
  }
}

/** Prints a job's summary (human or JSON) and returns it. */
export function printSummary(job: Job__Output, json: boolean): RunSummary {
  const summary = summarize(job);
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else new HumanRenderer().summary(summary);
  return summary;
}

/** Writes the predictions CSV of a job to a file or stdout. */
export async function predictions(
  client: JobServiceClient,
  id: string,
  file: string | undefined,
): Promise<number> {
  const out = file ? createWriteStream(file) : process.stdout;
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    const call = client.getPredictions({ id }, new Metadata(), { deadline: Date.now() + 120_000 });
    call.on('data', (chunk: { data: Buffer }) => {
      bytes += chunk.data.length;
      out.write(chunk.data);
    });
    call.on('error', reject);
    call.on('end', resolve);
  });
  if (file) await new Promise<void>((resolve) => (out as ReturnType<typeof createWriteStream>).end(resolve));
  return bytes;
}

/** Downloads the trained model (TensorFlow.js layers format) into `dir`. */
export async function exportModel(client: JobServiceClient, id: string, dir: string): Promise<string[]> {
  const files = new Map<string, Buffer[]>();
  await new Promise<void>((resolve, reject) => {
    const call = client.exportModel({ id }, new Metadata(), { deadline: Date.now() + 300_000 });
    call.on('data', (f: { name: string; data: Buffer }) => {
      const list = files.get(f.name) ?? [];
      list.push(f.data);
      files.set(f.name, list);
    });
    call.on('error', reject);
    call.on('end', resolve);
  });
  await mkdir(dir, { recursive: true });
  for (const [name, parts] of files) await writeFile(join(dir, name), Buffer.concat(parts));
  return [...files.keys()].map((n) => join(dir, n));
}
