import { JobStates, NotFoundError, checkTransition, isTerminal } from '@distrain/core';
import type { JobStateName, Logger } from '@distrain/core';
import type { CoordinatorMetrics } from '@distrain/core/metrics';
import type { EventBus } from '../event-bus.ts';
import type { CancelTimer, Clock, JobRecordStore } from '../ports.ts';
import { toStored } from './record.ts';
import type { JobRecord } from './record.ts';
import type { JobResults } from './results.ts';

/** How often a running job's record is saved while only its progress changes. */
export const PROGRESS_SAVE_INTERVAL_MS = 2_000;

/** What {@link JobBook} needs. */
export interface JobBookOptions {
  events: EventBus;
  logger: Logger;
  metrics: CoordinatorMetrics;
  clock: Clock;
  /** @default none: records live in memory only */
  store?: JobRecordStore;
  /** Durable final artifacts of ended jobs. @default none: they stay in memory with the job */
  results?: JobResults;
  /** Most ended jobs kept in memory (the oldest ended leave first). @default 100 */
  maxEndedJobs?: number;
}

/** How many evicted job ids are remembered for {@link JobBook.wasEvicted}. */
const RECENTLY_EVICTED_IDS = 1_024;

/** Default of {@link JobBookOptions.maxEndedJobs}. */
export const DEFAULT_MAX_ENDED_JOBS = 100;

/**
 * The jobs in memory and the one way their state changes: every move is checked against the
 * job-state vocabulary, saved to the record store, published as an event and logged. The other job
 * parts share one book.
 */
export class JobBook {
  readonly jobs = new Map<string, JobRecord>();
  readonly events: EventBus;
  readonly logger: Logger;
  readonly metrics: CoordinatorMetrics;
  readonly clock: Clock;
  readonly store: JobRecordStore | undefined;
  readonly results: JobResults | undefined;
  readonly maxEndedJobs: number;
  /** Ids of recently evicted jobs (bounded): a late heartbeat of their workers is told to stop. */
  private readonly evicted = new Set<string>();
  /** Called with the id of each job evicted from memory (parts drop what they keep per job). */
  readonly onEvict: ((jobId: string) => void)[] = [];
  private readonly saveTimers = new Map<string, CancelTimer>();

  constructor(options: JobBookOptions) {
    this.events = options.events;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.clock = options.clock;
    this.store = options.store;
    this.results = options.results;
    this.maxEndedJobs = options.maxEndedJobs ?? DEFAULT_MAX_ENDED_JOBS;
  }

  /** The job, or a NotFoundError that says how to list jobs. */
  get(id: string): JobRecord {
    const record = this.jobs.get(id);
    if (!record)
      throw new NotFoundError(`job ${JSON.stringify(id)} not found; list jobs with \`distrain list\``, {
        jobId: id,
      });
    return record;
  }

  /** Admits a new job at Pending (saved and announced). */
  admit(record: JobRecord): void {
    record.state = JobStates.pending;
    this.jobs.set(record.id, record);
    this.announce(record, JobStates.pending, '');
  }

  /** Moves the job to `state` (a StateError if the vocabulary does not allow the move). */
  setState(record: JobRecord, state: JobStateName, reason: string): void {
    checkTransition(record.id, record.state, state);
    this.announce(record, state, reason);
  }

  private announce(record: JobRecord, state: JobStateName, reason: string): void {
    record.state = state;
    record.reason = reason;
    this.save(record);
    this.events.publish(record.id, { event: 'state', state: { state, reason } });
    this.logger.info({ jobId: record.id, state, reason }, 'job state');
  }

  /** A line of the job's log (a `log` event, and the coordinator's own log). */
  log(record: JobRecord, level: string, message: string): void {
    this.events.publish(record.id, { event: 'log', log: { level, source: 'coordinator', message } });
    this.logger.info({ jobId: record.id, level, msg2: message }, 'job log');
  }

  /** Saves the job's record to the store now. */
  save(record: JobRecord): void {
    if (!this.store) return;
    this.saveTimers.get(record.id)?.();
    this.saveTimers.delete(record.id);
    this.store.saveJob(record.id, toStored(record));
  }

  /** Saves the job's record within {@link PROGRESS_SAVE_INTERVAL_MS} (progress changes often). */
  saveSoon(record: JobRecord): void {
    if (!this.store || this.saveTimers.has(record.id)) return;
    this.saveTimers.set(
      record.id,
      this.clock.setTimeout(() => this.save(record), PROGRESS_SAVE_INTERVAL_MS),
    );
  }

  /**
   * Keeps the ended job's final artifacts in durable storage, then drops them from memory (they are
   * read back on demand). Without durable storage they stay in memory until the job is evicted.
   */
  async keepResults(record: JobRecord): Promise<void> {
    if (!this.results) return;
    try {
      await this.results.save(record.id, {
        ...(record.finalParams ? { params: record.finalParams } : {}),
        ...(record.predictionsCsv ? { predictionsCsv: record.predictionsCsv } : {}),
        ...(record.text ? { text: record.text } : {}),
      });
      delete record.finalParams;
      delete record.predictionsCsv;
      delete record.text;
    } catch (err) {
      this.log(
        record,
        'warn',
        `could not store the final artifacts (${this.results.location}): ${(err as Error).message}`,
      );
    }
  }

  /**
   * Evicts the oldest ended jobs (and their event history) beyond {@link maxEndedJobs}; their
   * records stay in the store (and artifacts in durable storage), where lookups still find them.
   * A job whose teardown is still running is never evicted.
   */
  evictEnded(): void {
    const ended = [...this.jobs.values()].filter(
      (r) => isTerminal(r.state) && (r.teardown === undefined || r.teardownDone === true),
    );
    if (ended.length <= this.maxEndedJobs) return;
    ended.sort((a, b) => a.finishedAtMs - b.finishedAtMs || a.createdAtMs - b.createdAtMs);
    for (const r of ended.slice(0, ended.length - this.maxEndedJobs)) {
      this.saveTimers.get(r.id)?.();
      this.saveTimers.delete(r.id);
      this.jobs.delete(r.id);
      this.events.forget(r.id);
      for (const f of this.onEvict) f(r.id);
      this.evicted.add(r.id);
      if (this.evicted.size > RECENTLY_EVICTED_IDS)
        this.evicted.delete(this.evicted.values().next().value as string);
      this.logger.info({ jobId: r.id, state: r.state }, 'ended job evicted from memory');
    }
  }

  /** The job ended and left memory recently (its workers must stop). */
  wasEvicted(id: string): boolean {
    return this.evicted.has(id);
  }
}
