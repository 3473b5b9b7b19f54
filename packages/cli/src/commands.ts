import { createWriteStream } from 'node:fs';
import { DistrainClient } from '@distrain/client';
import type { ClientOptions, Job } from '@distrain/client';
import { HumanRenderer, eventJson, summarize } from './render.ts';
import type { RunSummary } from './render.ts';

/** A connected JobService client (the library's; the CLI only renders). */
export function connect(address: string, options: Omit<ClientOptions, 'address'> = {}): DistrainClient {
  return new DistrainClient({ timeoutMs: 120_000, ...options, address });
}

/** Options of {@link watch}. */
export interface WatchOptions {
  json: boolean;
  /** Reconnect attempts when the coordinator goes away. @default 30 */
  reconnects?: number;
}

/**
 * Follows a job until it ends, printing each event (human or JSON lines); the client reconnects and
 * deduplicates by sequence when the coordinator restarts. Returns the final job record.
 */
export function watch(client: DistrainClient, id: string, options: WatchOptions): Promise<Job> {
  const human = options.json ? undefined : new HumanRenderer();
  return client.waitForEnd(id, {
    reconnects: options.reconnects ?? 30,
    onReconnect: (attempt, err) =>
      human?.reconnecting(attempt, (err as { details?: string }).details || err.message || 'unavailable'),
    onEvent: (e) => {
      if (options.json) process.stdout.write(`${eventJson(e)}\n`);
      else human?.event(e);
    },
  });
}

/** Prints a job's summary (human or JSON) and returns it. */
export function printSummary(job: Job, json: boolean): RunSummary {
  const summary = summarize(job);
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else new HumanRenderer().summary(summary);
  return summary;
}

/** Writes the predictions CSV of a job to a file or stdout; returns the bytes written. */
export async function predictions(
  client: DistrainClient,
  id: string,
  file: string | undefined,
): Promise<number> {
  const out = file ? createWriteStream(file) : process.stdout;
  let bytes = 0;
  for await (const chunk of client.predictionsCsv(id)) {
    bytes += chunk.length;
    out.write(chunk);
  }
  if (file) await new Promise<void>((resolve) => (out as ReturnType<typeof createWriteStream>).end(resolve));
  return bytes;
}
