import { AbortedError, NotFoundError, TimeoutError } from '@distrain/core';
import type { Logger } from '@distrain/core';
import { waitUntilDeadline } from './wait.ts';
import type { CallContext } from './wait.ts';

/** Parameters of one job at the end of an epoch, kept for the evaluator. */
export interface Snapshot {
  version: number;
  /** When it was taken (Unix ms): the epoch's last step was applied then. */
  takenAtMs: number;
  params: Map<string, Float32Array>;
  /** Set once released: frees the snapshot after the grace period. */
  releaseTimer?: NodeJS.Timeout;
}

interface SnapshotWaiter {
  epoch: number;
  resolve(s: Snapshot): void;
  reject(err: Error): void;
}

/** Options of {@link SnapshotStore}. */
export interface SnapshotStoreOptions {
  /** Snapshots kept; the oldest is dropped beyond this. */
  maxSnapshots: number;
  /** How long a released snapshot stays pullable. */
  releaseGraceMs: number;
  logger: Logger;
}

/**
 * Epoch snapshots of one job on one shard: taken at each epoch end (copies), waited for by the
 * evaluator's Pull, freed a grace period after the pull that releases them, the oldest dropped
 * beyond `maxSnapshots`.
 */
export class SnapshotStore {
  private readonly snapshots = new Map<number, Snapshot>();
  private readonly waiters = new Set<SnapshotWaiter>();

  constructor(
    private readonly jobId: string,
    private readonly options: SnapshotStoreOptions,
  ) {}

  /** Keeps copies of `params` as the snapshot of `epoch` and wakes its waiters. */
  take(epoch: number, version: number, params: Iterable<[string, Float32Array]>): Snapshot {
    const snapshot: Snapshot = {
      version,
      takenAtMs: Date.now(),
      params: new Map([...params].map(([k, v]) => [k, v.slice()])),
    };
    this.snapshots.set(epoch, snapshot);
    while (this.snapshots.size > this.options.maxSnapshots) {
      const oldest = Math.min(...this.snapshots.keys());
      clearTimeout(this.snapshots.get(oldest)?.releaseTimer);
      this.snapshots.delete(oldest);
      this.options.logger.warn(
        { jobId: this.jobId, epoch: oldest },
        'dropped an epoch snapshot nobody released',
      );
    }
    for (const w of [...this.waiters]) if (w.epoch === epoch) w.resolve(snapshot);
    return snapshot;
  }

  /** Whether the snapshot of `epoch` is held. */
  has(epoch: number): boolean {
    return this.snapshots.has(epoch);
  }

  /**
   * The snapshot of `epoch`, waiting for it up to the call's deadline; NotFoundError when it was
   * already released or dropped (`passed`: the job is past that epoch).
   */
  async get(epoch: number, passed: boolean, ctx: CallContext, version: () => number): Promise<Snapshot> {
    const snapshot = this.snapshots.get(epoch);
    if (snapshot) return snapshot;
    if (passed) {
      throw new NotFoundError(`snapshot of epoch ${epoch} of job ${this.jobId} was released or dropped`, {
        jobId: this.jobId,
      });
    }
    return waitUntilDeadline<Snapshot, SnapshotWaiter>(
      ctx,
      (resolve, reject) => ({ epoch, resolve, reject }),
      (w) => this.waiters.add(w),
      (w) => this.waiters.delete(w),
      () =>
        new TimeoutError(`snapshot of epoch ${epoch} not ready by the deadline (version ${version()})`, {
          jobId: this.jobId,
        }),
      () => new AbortedError('call cancelled', { jobId: this.jobId }),
    );
  }

  /** Frees `snapshot` (of `epoch`) after the grace period; idempotent. */
  release(epoch: number, snapshot: Snapshot): void {
    if (snapshot.releaseTimer) return;
    snapshot.releaseTimer = setTimeout(() => {
      if (this.snapshots.get(epoch) === snapshot) this.snapshots.delete(epoch);
    }, this.options.releaseGraceMs);
    snapshot.releaseTimer.unref();
  }

  /** Bytes held by the snapshots. */
  bytes(): number {
    let n = 0;
    for (const s of this.snapshots.values()) for (const a of s.params.values()) n += a.byteLength;
    return n;
  }

  /** Fails the waiters with `err` and frees every snapshot. */
  abort(err: Error): void {
    for (const w of [...this.waiters]) w.reject(err);
    for (const s of this.snapshots.values()) clearTimeout(s.releaseTimer);
    this.snapshots.clear();
  }
}
