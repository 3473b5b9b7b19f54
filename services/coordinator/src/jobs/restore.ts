import { JobStates, isTerminal } from '@distrain/core';
import type { ParameterServerAdmin } from '../ports.ts';
import type { JobBook } from './book.ts';
import type { JobEnds } from './lifecycle.ts';
import { fromStored, isStoredJobV1 } from './record.ts';
import { modelDoor } from '../model-door.ts';
import type { JobRecord } from './record.ts';

/**
 * Takes over the jobs a previous coordinator left in the store (called once, before serving).
 * Ended jobs come back as they were (their final artifacts are read from durable storage when
 * asked for), the newest `maxEndedJobs` of them in memory. A job that
 * was still Pending cannot be resumed and fails with the reason. A Running job is re-adopted when
 * its parameter servers still hold its state: its workers keep heartbeating here (same address),
 * and any that stay silent past the straggler timeout are relaunched from the parameter server's
 * version (with `relaunch`, for launchers whose workers die with their coordinator, the unfinished
 * ones are relaunched at once); when that version is the job's last step its trainers are done (a "done" beat sent while
 * no coordinator listened is not waited for); otherwise it fails with the reason. Nothing is left at Running without an owner.
 */
export async function restoreJobs(
  stored: readonly unknown[],
  book: JobBook,
  parameterServers: ParameterServerAdmin,
  ends: JobEnds,
  relaunch?: (record: JobRecord) => Promise<void>,
): Promise<void> {
  // The model door (tfjs) is loaded only to describe the models of jobs that are still active.
  if (stored.some((d) => isStoredJobV1(d) && !isTerminal(d.state))) await modelDoor();
  for (const doc of stored) {
    if (!isStoredJobV1(doc) || book.jobs.has(doc.id)) {
      const s = doc as { id?: unknown; storeVersion?: unknown } | null;
      book.logger.warn(
        { id: s?.id, storeVersion: s?.storeVersion },
        'skipping an unreadable stored job record',
      );
      continue;
    }
    const record = fromStored(doc, book.clock.now(), { describe: !isTerminal(doc.state) });
    book.jobs.set(record.id, record);
    if (isTerminal(record.state)) continue;
    await adopt(record, book, parameterServers, ends, relaunch);
  }
  book.evictEnded();
}

async function adopt(
  record: JobRecord,
  book: JobBook,
  parameterServers: ParameterServerAdmin,
  ends: JobEnds,
  relaunch: ((record: JobRecord) => Promise<void>) | undefined,
): Promise<void> {
  // A text job's vocabulary and test texts, kept durably at submission.
  if (record.dataset?.featureDtype === 'int32' && book.results) {
    const text = await book.results.loadText(record.id).catch(() => undefined);
    if (text) record.text = text;
  }
  if (record.psShards.length > 0 && record.variables) {
    record.ps = parameterServers.forJob({
      jobId: record.id,
      shardAddresses: record.psShards,
      variables: record.variables,
    });
  }
  if (record.state === JobStates.pending) {
    ends.fail(record, 'the coordinator restarted while the job was starting; submit it again');
    return;
  }
  let version: number;
  try {
    if (!record.ps) throw new Error('no parameter-server shards recorded');
    ({ version } = await record.ps.pull());
  } catch (err) {
    const e = err as { details?: string; message: string };
    ends.fail(
      record,
      `the coordinator restarted and the parameter servers no longer hold the job's state (${e.details ?? e.message})`,
    );
    return;
  }
  const now = book.clock.now();
  // Every step applied: the trainers finished, maybe while no coordinator heard their "done".
  const trained = version >= record.stepsPerEpoch * record.job.spec.epochs;
  for (const slot of record.workers.values()) {
    if (trained && slot.role === 'trainer') slot.status = 'done';
    if (slot.status !== 'done') slot.status = 'running';
    slot.lastSeenMs = now;
  }
  book.metrics.jobStarted(record.id, [...new Set([...record.workers.values()].map((w) => w.role))], version);
  book.log(
    record,
    'warn',
    `the coordinator restarted; re-adopted the job at step ${version}${trained ? ' (every step applied: the trainers are done)' : ''}: ${relaunch ? 'its workers ended with the previous coordinator and are relaunched now' : `workers that do not heartbeat within ${record.job.spec.fault.stragglerTimeoutMs} ms are relaunched`}`,
  );
  book.save(record);
  await ends.maybeFinish(record);
  // Local workers are linked to the coordinator that started them (they exit with it): relaunch
  // the unfinished ones at once instead of waiting out the straggler timeout.
  if (relaunch && record.state === JobStates.running) await relaunch(record);
}
