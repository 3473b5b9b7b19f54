import { JobStates, NotFoundError, checkTransition } from '@distrain/core';
import type { JobStateName, Logger } from '@distrain/core';
import type { CoordinatorMetrics } from '@distrain/core/metrics';
import type { EventBus } from '../event-bus.ts';
import type { CancelTimer, Clock, JobRecordStore } from '../ports.ts';
import { toStored } from './record.ts';
import type { JobRecord } from './record.ts';

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
}

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
  private readonly saveTimers = new Map<string, CancelTimer>();

  constructor(options: JobBookOptions) {
    this.events = options.events;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.clock = options.clock;
    this.store = options.store;
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
}
