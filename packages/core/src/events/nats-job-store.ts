import { DiscardPolicy, RetentionPolicy, StorageType, StringCodec, connect, nanos } from 'nats';
import type { JetStreamClient, JetStreamManager, KV, NatsConnection } from 'nats';
import type { JobEvent } from '../generated/distrain/v1/JobEvent.ts';
import type { Logger } from '../logger.ts';
import type { BlobStore } from './blob-store.ts';
import { checkBlobName } from './blob-store.ts';
import {
  JOB_EVENTS_STREAM,
  JOB_RECORDS_BUCKET,
  JOB_RESULTS_BUCKET,
  fromEventPayload,
  jobSubject,
  jobSubjectFilter,
  toEventPayload,
} from './job-events.ts';
import type { JobEventPayload } from './job-events.ts';

/** Options of {@link NatsJobStore.connect}. */
export interface NatsJobStoreOptions {
  /** nats://host:port (comma-separated for several servers). */
  url: string;
  logger: Logger;
  /** JetStream stream for job events. @default 'DISTRAIN_JOB_EVENTS' */
  stream?: string;
  /** Key-value bucket for job records. @default 'distrain-jobs' */
  bucket?: string;
  /** How long the stream keeps events. @default 7 days */
  maxAgeMs?: number;
  /** Give up connecting after this long. @default 30000 */
  connectTimeoutMs?: number;
  /** Called when a publish or a record write fails (metrics). */
  onError?: (operation: 'publish' | 'store', err: unknown) => void;
}

/** What a restarted coordinator reads back. */
export interface StoredHistory {
  /** Every kept event, in stream order. */
  events: JobEvent[];
  /** The stream's last sequence: new events continue above it, so sequences never go back. */
  lastSequence: number;
}

const codec = StringCodec();

/**
 * The coordinator's NATS side: publishes job events as JSON (payload version 1) on
 * `distrain.job.<jobId>.<type>` into a JetStream stream, so a late watcher or a restarted coordinator
 * replays them, and keeps job records in a JetStream key-value bucket (one key per job), so a
 * restarted coordinator sees every job. Works with nats-server 2.9 (no 2.10-only stream features).
 */
export class NatsJobStore {
  private pending = new Set<Promise<unknown>>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly kv: KV,
    private readonly options: NatsJobStoreOptions,
  ) {}

  /** Connects, and creates the stream and the bucket when they do not exist. */
  static async connect(options: NatsJobStoreOptions): Promise<NatsJobStore> {
    const nc = await connect({
      servers: options.url.split(',').map((s) => s.trim().replace(/^nats:\/\//, '')),
      name: 'distrain-coordinator',
      timeout: options.connectTimeoutMs ?? 30_000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
    });
    try {
      const jsm = await nc.jetstreamManager();
      await ensureStream(jsm, options.stream ?? JOB_EVENTS_STREAM, options.maxAgeMs ?? 7 * 24 * 3_600_000);
      const js = nc.jetstream();
      const kv = await js.views.kv(options.bucket ?? JOB_RECORDS_BUCKET, { history: 1 });
      void (async () => {
        for await (const s of nc.status())
          options.logger.warn({ type: s.type, data: String(s.data) }, 'nats connection status');
      })();
      return new NatsJobStore(nc, js, kv, options);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  /** The server this store is connected to. */
  get server(): string {
    return this.nc.getServer();
  }

  /** Publishes one event (fire and forget, in order; failures are logged and counted). */
  publish(event: JobEvent): void {
    const payload = toEventPayload(event);
    const done = this.js
      .publish(jobSubject(payload.jobId, payload.type), codec.encode(JSON.stringify(payload)), {
        msgID: `${payload.jobId}.${payload.sequence}`,
      })
      .catch((err: unknown) => {
        this.options.onError?.('publish', err);
        this.options.logger.warn(
          { err, jobId: payload.jobId, type: payload.type },
          'publishing a job event to NATS failed',
        );
      });
    this.track(done);
  }

  /** Stores a job record (JSON) under its id; the last write wins. */
  saveJob(id: string, record: unknown): void {
    const done = this.kv.put(id, codec.encode(JSON.stringify(record))).catch((err: unknown) => {
      this.options.onError?.('store', err);
      this.options.logger.warn({ err, jobId: id }, 'saving the job record to NATS failed');
    });
    this.track(done);
  }

  /** Every stored job record. */
  async loadJobs(): Promise<unknown[]> {
    const out: unknown[] = [];
    const keys: string[] = [];
    for await (const k of await this.kv.keys()) keys.push(k);
    for (const k of keys) {
      const entry = await this.kv.get(k);
      if (entry && entry.operation === 'PUT' && entry.value.length > 0)
        out.push(JSON.parse(entry.string()) as unknown);
    }
    return out;
  }

  /** One stored job record, or undefined (a job ended long ago and evicted from memory). */
  async loadJob(id: string): Promise<unknown> {
    // Not a valid key (or one nats.js refuses, like a leading dot): no such job.
    if (!/^(?!.*\.\.)[A-Za-z0-9_=-](?:[A-Za-z0-9_=.-]{0,254}[A-Za-z0-9_=-])?$/.test(id)) return undefined;
    const entry = await this.kv.get(id);
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return JSON.parse(entry.string()) as unknown;
  }

  /** The events the stream keeps of one job, in order (empty when it has none). */
  async loadJobEvents(jobId: string): Promise<JobEvent[]> {
    const stream = this.options.stream ?? JOB_EVENTS_STREAM;
    const filter = jobSubjectFilter(jobId);
    const events: JobEvent[] = [];
    // An ordered fetch that finds nothing leaves the connection unable to drain: ask first.
    const jsm = await this.nc.jetstreamManager();
    const info = await jsm.streams.info(stream, { subjects_filter: filter });
    const count = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    if (count === 0) return events;
    const consumer = await this.js.consumers.get(stream, { filterSubjects: filter });
    // A fetch ends when the stream has no more of the job's events (pending 0) or after `expires`.
    const messages = await consumer.fetch({ max_messages: 100_000, expires: 2_000 });
    for await (const m of messages) {
      try {
        events.push(fromEventPayload(JSON.parse(m.string()) as JobEventPayload));
      } catch (err) {
        this.options.logger.warn({ err, seq: m.seq }, 'skipping an unreadable job event');
      }
      if (m.info.pending === 0) break;
    }
    await messages.close();
    return events;
  }

  /**
   * Durable blobs in the JetStream Object Store `bucket` (created when missing), over this
   * connection: where ended jobs' final parameters and predictions are kept.
   */
  async blobStore(bucket = JOB_RESULTS_BUCKET): Promise<BlobStore> {
    const os = await this.js.views.os(bucket, { storage: StorageType.File });
    return {
      location: `nats object store ${bucket}`,
      async put(name, data) {
        checkBlobName(name);
        await os.putBlob({ name }, data);
      },
      async get(name) {
        checkBlobName(name);
        return (await os.getBlob(name)) ?? undefined;
      },
    };
  }

  /** Every event the stream keeps, in order, and its last sequence. */
  async loadHistory(): Promise<StoredHistory> {
    const jsm = await this.nc.jetstreamManager();
    const stream = this.options.stream ?? JOB_EVENTS_STREAM;
    const info = await jsm.streams.info(stream);
    const lastSequence = info.state.last_seq;
    const events: JobEvent[] = [];
    if (info.state.messages === 0) return { events, lastSequence };
    // An ordered consumer without options (nats.js 2.29 against a 2.9 server hangs on some options).
    const consumer = await this.js.consumers.get(stream);
    const messages = await consumer.consume();
    for await (const m of messages) {
      try {
        events.push(fromEventPayload(JSON.parse(m.string()) as JobEventPayload));
      } catch (err) {
        this.options.logger.warn({ err, seq: m.seq }, 'skipping an unreadable job event');
      }
      if (m.seq >= lastSequence) break;
    }
    await messages.close();
    return { events, lastSequence };
  }

  /** Waits for every publish and write issued so far. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Flushes, then drains the connection. */
  async close(): Promise<void> {
    await this.flush();
    await this.nc.drain();
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}

async function ensureStream(jsm: JetStreamManager, name: string, maxAgeMs: number): Promise<void> {
  const config = {
    name,
    subjects: [jobSubjectFilter()],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(maxAgeMs),
    duplicate_window: nanos(120_000),
  };
  try {
    await jsm.streams.info(name);
  } catch {
    await jsm.streams.add(config);
  }
}
