import { EventEmitter } from 'node:events';
import type { JobEvent } from '@distrain/core';

/** Step events kept per job for replay (older ones are dropped; state and epoch events are kept). */
const MAX_STEP_EVENTS = 2_000;

/** Options of {@link EventBus}. */
export interface EventBusOptions {
  /**
   * Receives every published event after it is recorded: the NATS publisher
   * (`NatsJobStore.publish`), metrics. Must not throw. @default none (in-process only)
   */
  sink?: (event: JobEvent) => void;
}

/**
 * In-process job events with per-job history, so a late watcher replays what happened. With NATS,
 * every event also goes to the JetStream stream (the sink), and a restarted coordinator restores
 * the history from it ({@link EventBus.restore}), so sequences keep increasing across restarts.
 */
export class EventBus {
  private readonly history = new Map<string, JobEvent[]>();
  private readonly emitter = new EventEmitter();
  private sequence = 0;

  constructor(private readonly options: EventBusOptions = {}) {
    this.emitter.setMaxListeners(0);
  }

  /**
   * Loads a kept history (a restarted coordinator, from JetStream) and continues sequences above
   * `lastSequence` and above every restored event, so a reconnecting watcher's dedupe stays right.
   */
  restore(events: readonly JobEvent[], lastSequence: number): void {
    for (const e of events) this.record(String(e.jobId ?? ''), e);
    const top = events.reduce((m, e) => Math.max(m, Number(e.sequence ?? 0)), 0);
    this.sequence = Math.max(this.sequence, lastSequence, top);
  }

  /** Records and publishes one event (sequence and time are filled in). */
  publish(jobId: string, event: Omit<JobEvent, 'jobId' | 'sequence' | 'timeMs'>): JobEvent {
    const full: JobEvent = { ...event, jobId, sequence: ++this.sequence, timeMs: Date.now() };
    this.record(jobId, full);
    this.options.sink?.(full);
    this.emitter.emit(jobId, full);
    this.emitter.emit('*', full);
    return full;
  }

  private record(jobId: string, full: JobEvent): void {
    let list = this.history.get(jobId);
    if (!list) this.history.set(jobId, (list = []));
    list.push(full);
    if (full.event === 'step' && list.length > MAX_STEP_EVENTS) {
      const idx = list.findIndex((e) => e.event === 'step');
      if (idx >= 0) list.splice(idx, 1);
    }
  }

  /** Events of a job so far. */
  replay(jobId: string): JobEvent[] {
    return [...(this.history.get(jobId) ?? [])];
  }

  /** Live events of one job (or '*' for all); returns the unsubscribe function. */
  subscribe(jobId: string, listener: (e: JobEvent) => void): () => void {
    this.emitter.on(jobId, listener);
    return () => this.emitter.off(jobId, listener);
  }

  /** Drops a job's history. */
  forget(jobId: string): void {
    this.history.delete(jobId);
  }
}
