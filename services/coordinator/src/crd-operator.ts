/**
 * The TrainingJob operator (coordinator `--watch-crds`): TrainingJob resources (`distrain.io/v1`)
 * become jobs like gRPC submissions, through `JobManager`'s public methods only, so both share one
 * store and one `distrain list`. It adds a finalizer, writes status (state, epochs with accuracy,
 * conditions with reasons) as the job runs, and cancels the job when the resource is deleted.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { Informer, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Job, Logger } from '@distrain/core';
import type { JobManager } from './job-manager.ts';

/** Every Kubernetes API call of the operator as `resource:verb`; the Role grants exactly these too. */
export const OPERATOR_API_CALLS = [
  'trainingjobs:list',
  'trainingjobs:watch',
  'trainingjobs:patch',
  'trainingjobs/status:patch',
] as const;

/** Finalizer the operator puts on each TrainingJob: deleting it cancels the job first. */
export const FINALIZER = 'distrain.io/cancel-job';

const GROUP = 'distrain.io';
const VERSION = 'v1';
const PLURAL = 'trainingjobs';

/** A TrainingJob resource as the API server returns it. */
export interface TrainingJobResource extends KubernetesObject {
  spec?: Record<string, unknown>;
  status?: TrainingJobStatus;
}

/** A status condition (Kubernetes conventions). */
export interface Condition {
  type: 'Created' | 'Running' | 'Succeeded' | 'Failed' | 'Cancelled';
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/** `.status` of a TrainingJob, written by the operator. */
export interface TrainingJobStatus {
  jobId?: string;
  state?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Cancelled';
  reason?: string;
  epoch?: number;
  accuracy?: number;
  observedGeneration?: number;
  startTime?: string;
  completionTime?: string;
  epochs?: { epoch: number; testAccuracy: number; testLoss: number; trainSeconds: number }[];
  conditions?: Condition[];
}

/** The JobManager methods the operator uses (its public surface; a fake works in tests). */
export type OperatorJobs = Pick<JobManager, 'submit' | 'find' | 'toWire' | 'cancel'>;

/** Options of {@link CrdOperator}. */
export interface CrdOperatorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  jobs: OperatorJobs;
  logger: Logger;
  /** How often running jobs' status is written, in ms. @default 1000 */
  pollMs?: number;
}

interface Tracked {
  name: string;
  jobId: string;
  generation: number;
  written: string;
  since: Map<string, string>;
}

const STATE: Record<string, NonNullable<TrainingJobStatus['state']>> = {
  JOB_STATE_PENDING: 'Pending',
  JOB_STATE_RUNNING: 'Running',
  JOB_STATE_SUCCEEDED: 'Succeeded',
  JOB_STATE_FAILED: 'Failed',
  JOB_STATE_CANCELLED: 'Cancelled',
};
const ENDED = new Set(['Succeeded', 'Failed', 'Cancelled']);
const iso = (ms: number): string | undefined => (ms > 0 ? new Date(ms).toISOString() : undefined);

/** The status of a TrainingJob from its job record; `since` keeps each condition's transition time. */
export function statusOf(job: Job, generation: number, since: Map<string, string>): TrainingJobStatus {
  const state = STATE[String(job.state)] ?? 'Pending';
  const epochs = (job.epochs ?? []).map((e) => ({
    epoch: e.epoch ?? 0,
    testAccuracy: Number(e.testAccuracy ?? 0),
    testLoss: Number(e.testLoss ?? 0),
    trainSeconds: Number(e.trainSeconds ?? 0),
  }));
  const cond = (type: Condition['type'], on: boolean, reason: string, message: string): Condition => {
    const key = `${type}=${on}`;
    const time = since.get(key) ?? new Date().toISOString();
    since.set(key, time);
    return { type, status: on ? 'True' : 'False', reason, message, lastTransitionTime: time };
  };
  const conditions: Condition[] = [cond('Created', true, 'JobCreated', `job ${job.id ?? ''} created`)];
  if (state !== 'Pending')
    conditions.push(
      state === 'Running'
        ? cond('Running', true, 'JobRunning', `${job.trainers ?? 0} trainers`)
        : cond('Running', false, `Job${state}`, 'the job ended'),
    );
  if (ENDED.has(state))
    conditions.push(
      cond(state as Condition['type'], true, `Job${state}`, job.reason || `the job ${state.toLowerCase()}`),
    );
  const last = epochs.at(-1);
  const started = iso(Number(job.startedAtMs ?? 0));
  const finished = iso(Number(job.finishedAtMs ?? 0));
  return {
    jobId: job.id ?? '',
    state,
    ...(job.reason ? { reason: job.reason } : {}),
    ...(last ? { epoch: last.epoch, accuracy: Math.round(last.testAccuracy * 1e4) / 1e4 } : {}),
    observedGeneration: generation,
    ...(started ? { startTime: started } : {}),
    ...(finished && ENDED.has(state) ? { completionTime: finished } : {}),
    epochs,
    conditions,
  };
}

/** Watches TrainingJobs in one namespace and runs them as jobs. */
export class CrdOperator {
  private readonly api: CustomObjectsApi;
  private informer: Informer<TrainingJobResource> | undefined;
  private readonly tracked = new Map<string, Tracked>();
  private readonly busy = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: CrdOperatorOptions) {
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** Lists the TrainingJobs, then follows them (the informer restarts after errors). */
  async start(): Promise<void> {
    const { namespace, kubeConfig, logger } = this.options;
    const informer = makeInformer<TrainingJobResource>(
      kubeConfig,
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
      () =>
        this.api.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
        }) as Promise<KubernetesListObject<TrainingJobResource>>,
    );
    this.informer = informer;
    const on = (obj: TrainingJobResource): void => void this.reconcile(obj);
    informer.on('add', on);
    informer.on('update', on);
    informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      logger.warn({ err }, 'TrainingJob watch failed; restarting it in 1 s');
      setTimeout(() => void informer.start().catch(() => undefined), 1_000).unref();
    });
    await informer.start();
    this.timer = setInterval(() => void this.sync(), this.options.pollMs ?? 1_000);
    this.timer.unref();
    logger.info({ namespace }, 'watching TrainingJob resources');
  }

  /** Stops watching (jobs keep running; a new coordinator picks them up by `status.jobId`). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.informer?.stop();
  }

  private async reconcile(obj: TrainingJobResource): Promise<void> {
    const uid = obj.metadata?.uid ?? '';
    const name = obj.metadata?.name ?? '';
    if (!uid || this.busy.has(uid)) return;
    this.busy.add(uid);
    try {
      const finalizers = obj.metadata?.finalizers ?? [];
      if (obj.metadata?.deletionTimestamp) {
        if (!finalizers.includes(FINALIZER)) return;
        const jobId = this.tracked.get(uid)?.jobId ?? obj.status?.jobId;
        if (jobId) {
          await this.options.jobs.cancel(jobId, `TrainingJob ${name} was deleted`).catch((err: unknown) => {
            this.options.logger.warn({ err, jobId }, 'cancel on TrainingJob deletion failed');
          });
        }
        this.tracked.delete(uid);
        await this.patch(name, { metadata: { finalizers: finalizers.filter((f) => f !== FINALIZER) } });
        this.options.logger.info({ name, jobId }, 'TrainingJob deleted: job cancelled, finalizer removed');
        return;
      }
      if (!finalizers.includes(FINALIZER))
        await this.patch(name, { metadata: { finalizers: [...finalizers, FINALIZER] } });
      if (this.tracked.has(uid)) return;
      const generation = obj.metadata?.generation ?? 1;
      const known = obj.status?.jobId;
      if (known) {
        // A restarted coordinator: follow the job it already runs (or the record says why not).
        this.tracked.set(uid, { name, jobId: known, generation, written: '', since: new Map() });
        return;
      }
      if (obj.status?.state === 'Failed') return; // rejected spec, already reported
      const doc = { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name }, spec: obj.spec };
      let job: Job;
      try {
        job = await this.options.jobs.submit(doc);
      } catch (err) {
        const message = (err as Error).message;
        const now = new Date().toISOString();
        await this.patchStatus(name, {
          state: 'Failed',
          reason: message,
          observedGeneration: generation,
          conditions: [
            { type: 'Created', status: 'False', reason: 'InvalidSpec', message, lastTransitionTime: now },
            { type: 'Failed', status: 'True', reason: 'InvalidSpec', message, lastTransitionTime: now },
          ],
        });
        this.options.logger.warn({ name, err: message }, 'TrainingJob rejected');
        return;
      }
      const t: Tracked = { name, jobId: job.id ?? '', generation, written: '', since: new Map() };
      this.tracked.set(uid, t);
      await this.write(t, job);
      this.options.logger.info({ name, jobId: job.id }, 'TrainingJob submitted');
    } catch (err) {
      this.options.logger.warn({ err, name }, 'TrainingJob reconcile failed');
    } finally {
      this.busy.delete(uid);
    }
  }

  /** Writes the status of every tracked job that changed; forgets jobs once their end is written. */
  private async sync(): Promise<void> {
    for (const [uid, t] of this.tracked) {
      if (this.busy.has(uid)) continue;
      this.busy.add(uid);
      try {
        // `find`: an ended job may have left the coordinator's memory before its end was written.
        const job = this.options.jobs.toWire(await this.options.jobs.find(t.jobId));
        await this.write(t, job);
        if (ENDED.has(STATE[String(job.state)] ?? '') && this.tracked.get(uid) === t)
          this.tracked.delete(uid);
      } catch (err) {
        this.options.logger.warn({ err, name: t.name, jobId: t.jobId }, 'TrainingJob status update failed');
      } finally {
        this.busy.delete(uid);
      }
    }
  }

  private async write(t: Tracked, job: Job): Promise<void> {
    const status = statusOf(job, t.generation, t.since);
    const text = JSON.stringify(status);
    if (text === t.written) return;
    await this.patchStatus(t.name, status);
    t.written = text;
  }

  private patch(name: string, body: object): Promise<unknown> {
    const { namespace } = this.options;
    return this.api.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  private patchStatus(name: string, status: TrainingJobStatus): Promise<unknown> {
    const { namespace } = this.options;
    return this.api.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}

/** The operator for `--watch-crds`: kubeconfig from `--kubeconfig`, in-cluster, or the default. */
export function crdOperatorFromFlags(
  flags: { kubeconfig?: string | undefined; namespace?: string | undefined },
  jobs: OperatorJobs,
  logger: Logger,
): CrdOperator {
  const kubeConfig = new KubeConfig();
  const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
  const inCluster = existsSync(`${sa}/token`);
  if (flags.kubeconfig) kubeConfig.loadFromFile(flags.kubeconfig);
  else if (inCluster) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  const namespace =
    flags.namespace ||
    (inCluster && existsSync(`${sa}/namespace`) ? readFileSync(`${sa}/namespace`, 'utf8').trim() : '') ||
    kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ||
    'default';
  return new CrdOperator({ kubeConfig, namespace, jobs, logger });
}
