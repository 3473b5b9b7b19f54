import { EventEmitter } from 'node:events';
import type { JobEvent } from '@distrain/core';

/** Step events kept per job for replay (older ones are dropped; state and epoch events are kept). */
const MAX_STEP_EVENTS = 2_000;

/**
 * In-process job events with per-job history, so a late watcher replays what happened. The NATS
 * publisher subscribes here too (in cluster mode JetStream keeps the history instead).
 */
export class EventBus {
  private readonly history = new Map<string, JobEvent[]>();
  private readonly emitter = new EventEmitter();
  private sequence = 0;

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  /** Records and publishes one event (sequence and time are filled in). */
  publish(jobId: string, event: Omit<JobEvent, 'jobId' | 'sequence' | 'timeMs'>): JobEvent {
    const full: JobEvent = { ...event, jobId, sequence: ++this.sequence, timeMs: Date.now() };
    let list = this.history.get(jobId);
    if (!list) this.history.set(jobId, (list = []));
    list.push(full);
    if (full.event === 'step' && list.length > MAX_STEP_EVENTS) {
      const idx = list.findIndex((e) => e.event === 'step');
      if (idx >= 0) list.splice(idx, 1);
    }
    this.emitter.emit(jobId, full);
    this.emitter.emit('*', full);
    return full;
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
