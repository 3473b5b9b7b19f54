import { JobStates, isTerminal } from '@distrain/core';
import type { JobStateName } from '@distrain/core';
import type { Launcher } from '../launcher.ts';
import type { DatasetCatalog, ParameterServerAdmin } from '../ports.ts';
import type { JobBook } from './book.ts';
import { newSlot, slotKey } from './record.ts';
import { psInitOptions } from './shard-watch.ts';
import type { JobRecord } from './record.ts';

/** How a job ends; what the worker supervisor and progress tracker call. */
export interface JobEnds {
  /** Fails the job with the reason (a no-op on an ended job). */
  fail(record: JobRecord, reason: string): void;
  /** Succeeds the job once every worker is done and every epoch is evaluated. */
  maybeFinish(record: JobRecord): Promise<void>;
}

/** What {@link JobLifecycle} needs. */
export interface JobLifecycleOptions {
  book: JobBook;
  launcher: Launcher;
  catalog: DatasetCatalog;
  parameterServers: ParameterServerAdmin;
  /** host:port of each parameter-server shard. */
  psAddresses: string[];
}

/**
 * Start and end of a job: the parameter servers take the job (Pending -> Running), and teardown,
 * whatever the end (Succeeded, Failed, Cancelled), stops the workers, keeps the final parameters
 * for export, and frees the job's state on every parameter-server shard and the data-loader.
 */
export class JobLifecycle implements JobEnds {
  private readonly book: JobBook;

  constructor(private readonly options: JobLifecycleOptions) {
    this.book = options.book;
  }

  /**
   * InitJob on the job's shards, then its worker slots and Running. Returns false when the job
   * ended meanwhile (cancelled while its shards initialised).
   */
  async start(record: JobRecord): Promise<boolean> {
    const { job } = record;
    const shards = this.options.psAddresses;
    record.psShards = shards.slice(0, Math.max(1, Math.min(job.spec.parameterServer.shards, shards.length)));
    const ps = this.options.parameterServers.forJob({
      jobId: record.id,
      shardAddresses: record.psShards,
      variables: record.variables ?? [],
    });
    record.ps = ps;
    // The same options the shard watch re-sends (with `resume`) to a restarted shard, less the
    // initial values (pretrained embeddings, too large to re-send every second).
    await ps.init(psInitOptions(record));
    delete record.initialValues;
    if (isTerminal(record.state)) return false;
    const now = this.book.clock.now();
    record.startedAtMs = now;
    for (let rank = 0; rank < job.spec.trainers.replicas; rank++)
      record.workers.set(slotKey('trainer', rank), newSlot('trainer', rank, now));
    if (job.spec.evaluation.enabled)
      record.workers.set(slotKey('evaluator', 0), newSlot('evaluator', 0, now));
    this.book.setState(record, JobStates.running, '');
    this.book.metrics.jobStarted(record.id, [...new Set([...record.workers.values()].map((w) => w.role))], 0);
    return true;
  }

  async maybeFinish(record: JobRecord): Promise<void> {
    if (isTerminal(record.state)) return;
    const evaluated = !record.job.spec.evaluation.enabled || record.epochs.length >= record.job.spec.epochs;
    if (!evaluated) return;
    // With every epoch evaluated the evaluator has nothing left to do, even if its "done" beat was
    // lost (a coordinator restart).
    const all = [...record.workers.values()];
    if (all.length === 0 || !all.every((w) => w.status === 'done' || w.role === 'evaluator')) return;
    await this.end(record, JobStates.succeeded, '');
  }

  /** Cancels a job; a no-op on an ended job. */
  async cancel(record: JobRecord, reason: string): Promise<void> {
    if (!isTerminal(record.state)) await this.end(record, JobStates.cancelled, reason || 'cancelled by user');
  }

  fail(record: JobRecord, reason: string): void {
    if (isTerminal(record.state)) return;
    this.book.logger.error({ jobId: record.id, reason }, 'job failed');
    void this.end(record, JobStates.failed, reason);
  }

  /**
   * Teardown, whatever the end: stop workers, keep the final parameters for export, free the job's
   * state on the parameter servers and the data-loader.
   */
  async end(record: JobRecord, state: JobStateName, reason: string): Promise<void> {
    if (isTerminal(record.state)) return;
    const { book } = this;
    record.finishedAtMs = book.clock.now();
    record.abort.abort();
    book.setState(record, state, reason);
    book.metrics.jobEnded(record.id);
    record.teardown = this.teardown(record);
    await record.teardown;
    record.teardownDone = true;
    book.evictEnded();
  }

  /** Stops the workers, keeps the final parameters, frees the shards' and the loader's state. */
  private async teardown(record: JobRecord): Promise<void> {
    const { book } = this;
    await this.options.launcher
      .stopJob(record.id)
      .catch((err: unknown) => book.log(record, 'warn', `stopping workers: ${(err as Error).message}`));
    if (record.ps) {
      try {
        record.finalParams = (await record.ps.pull()).params;
      } catch (err) {
        book.log(record, 'warn', `could not keep the final parameters: ${(err as Error).message}`);
      }
      await record.ps
        .endJob()
        .catch((err: unknown) =>
          book.log(record, 'warn', `freeing parameter-server state: ${(err as Error).message}`),
        );
      record.ps.close();
    }
    await book.keepResults(record);
    await this.options.catalog.releaseJob(record.id).catch(() => undefined);
  }
}
