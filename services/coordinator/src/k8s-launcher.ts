/**
 * Runs trainers and the evaluator as Kubernetes Pods (@kubernetes/client-node 1.4).
 *
 * Per job the launcher creates one Secret (`distrain-job-<jobId>`, key `token`: the job's worker
 * credential) that owns every pod of the job, so deleting the Secret garbage-collects them; then one
 * Pod per trainer rank and attempt, plus the evaluator, from a PodTemplate that the manifests ship
 * (`distrain-worker`, and `distrain-worker-gpu` for jobs asking for GPUs: image, security context,
 * node selector, tolerations and volumes live there, so kustomize and Helm set them like any other
 * object). An informer on the job's pods turns pod phases into {@link WorkerExit}s; restarts stay the
 * coordinator's decision. Every API call the launcher makes is listed in {@link KUBERNETES_API_CALLS},
 * which the RBAC Role of the manifests must grant exactly. What the objects look like is pure and
 * lives in `k8s-pod-spec.ts`; this file makes the API calls and runs the informer.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, makeInformer } from '@kubernetes/client-node';
import type { Informer, KubeConfig, ObjectCache, V1Pod, V1PodTemplate } from '@kubernetes/client-node';
import type { Logger, WorkerConfig } from '@distrain/core';
import type { Launcher, WorkerHandle } from './launcher.ts';
import {
  KubernetesApiError,
  jobSecret,
  jobSecretName,
  jobSelector,
  podExit,
  workerGpus,
  workerPod,
  workerTemplateName,
} from './k8s-pod-spec.ts';
import type { JobOwner } from './k8s-pod-spec.ts';
import { PodWorker } from './k8s-pod-worker.ts';

// Pod-spec building lives in k8s-pod-spec.ts; re-exported for existing importers.
export { KubernetesApiError, Labels, dnsLabel, podExit } from './k8s-pod-spec.ts';

/**
 * Every Kubernetes API call of this launcher as `resource:verb` (core group). The manifests' Role
 * grants exactly these; a test compares both with the calls recorded by the API double.
 */
export const KUBERNETES_API_CALLS = [
  'pods:create',
  'pods:delete',
  'pods:list',
  'pods:watch',
  'podtemplates:get',
  'secrets:create',
  'secrets:delete',
  'events:create',
] as const;

/** Options of {@link KubernetesLauncher}. */
export interface KubernetesLauncherOptions {
  /** Where the API server is and how to authenticate (`loadFromCluster` in a pod, a kubeconfig outside). */
  kubeConfig: KubeConfig;
  /** Namespace of the workers, their Secret and PodTemplates. */
  namespace: string;
  logger: Logger;
  /** `app.kubernetes.io/instance` of the workers (the Helm release / kustomize instance). @default 'distrain' */
  instance?: string;
  /** PodTemplate for CPU workers and the evaluator. @default 'distrain-worker' */
  workerTemplate?: string;
  /** PodTemplate for trainers of jobs with `trainers.gpus > 0`. @default 'distrain-worker-gpu' */
  gpuWorkerTemplate?: string;
  /** Command that runs a role's `main.ts`, relative to the container's working dir. @default ['node', '--import', 'tsx'] */
  command?: string[];
  /** Extra environment for workers (e.g. `DISTRAIN_LOG_LEVEL`). */
  env?: Record<string, string>;
  /** Grace period of pod deletes. @default 10 */
  deleteGraceSeconds?: number;
  /** How long `stop()` waits for a deleted pod to disappear before giving up. @default 30000 */
  stopTimeoutMs?: number;
}

interface JobState {
  secretName: string;
  secretUid: string;
  informer: Informer<V1Pod> & ObjectCache<V1Pod>;
  workers: Map<string, PodWorker>;
  stopped: boolean;
}

function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

/** The message of an API error: the Status body's message when there is one. */
function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      return body.slice(0, 500);
    }
  }
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string')
    return (body as { message: string }).message;
  return (err as Error).message?.split('\n')[0] ?? String(err);
}

/**
 * Launches workers as Pods. A handle's `exited` resolves when its pod reaches Succeeded (code 0) or
 * Failed (the container's exit code and reason, or the pod's reason such as `Evicted`), cannot start
 * (image pull errors), or is deleted; `stop()` and `stopJob()` delete pods.
 */
export class KubernetesLauncher implements Launcher {
  readonly kind = 'kubernetes';
  private readonly api: CoreV1Api;
  private readonly jobs = new Map<string, Promise<JobState>>();
  private readonly instance: string;

  constructor(private readonly options: KubernetesLauncherOptions) {
    this.api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.instance = options.instance ?? 'distrain';
  }

  private get namespace(): string {
    return this.options.namespace;
  }

  private selector(jobId: string): string {
    return jobSelector(this.instance, jobId);
  }

  async launch(config: WorkerConfig, attempt: number): Promise<WorkerHandle> {
    const job = await this.job(config);
    if (job.stopped)
      throw new KubernetesApiError(
        `job ${config.jobId} is stopping; not launching ${config.role} ${config.rank}`,
        undefined,
        { jobId: config.jobId },
      );
    const gpus = workerGpus(config);
    const template = await this.readTemplate(workerTemplateName(config, this.options), config, gpus);
    const pod = this.podFor(config, attempt, template, job);
    const name = pod.metadata?.name ?? '';
    const worker = new PodWorker(name, this, this.options.stopTimeoutMs ?? 30_000);
    job.workers.set(name, worker);
    try {
      await this.api.createNamespacedPod({ namespace: this.namespace, body: pod });
    } catch (err) {
      job.workers.delete(name);
      throw new KubernetesApiError(`creating pod ${name}: ${apiMessage(err)}`, statusCode(err), {
        jobId: config.jobId,
        cause: err,
      });
    }
    // The informer may have seen the pod before the create call returned.
    const seen = job.informer.get(name, this.namespace);
    if (seen) this.observe(job, seen);
    this.options.logger.info(
      { jobId: config.jobId, role: config.role, rank: config.rank, pod: name, attempt },
      'worker pod created',
    );
    return worker;
  }

  private async readTemplate(name: string, config: WorkerConfig, gpus: number): Promise<V1PodTemplate> {
    try {
      return await this.api.readNamespacedPodTemplate({ name, namespace: this.namespace });
    } catch (err) {
      const code = statusCode(err);
      const hint =
        code === 404
          ? gpus > 0
            ? `; the job asks for ${gpus} GPU(s) per trainer: deploy the gpu variant (k8s/overlays/gpu or the chart with gpu.enabled=true)`
            : '; apply the manifests (k8s/ or the Helm chart) in this namespace'
          : '';
      throw new KubernetesApiError(
        `reading PodTemplate ${this.namespace}/${name}: ${apiMessage(err)}${hint}`,
        code,
        { jobId: config.jobId, cause: err },
      );
    }
  }

  /** The job's Secret and pod informer, created once per job. */
  private job(config: WorkerConfig): Promise<JobState> {
    let state = this.jobs.get(config.jobId);
    if (!state) {
      state = this.startJob(config);
      this.jobs.set(config.jobId, state);
      state.catch(() => this.jobs.delete(config.jobId));
    }
    return state;
  }

  private async startJob(config: WorkerConfig): Promise<JobState> {
    const secretName = jobSecretName(config.jobId);
    let secretUid = '';
    try {
      const secret = await this.api.createNamespacedSecret({
        namespace: this.namespace,
        body: jobSecret(config, this.instance),
      });
      secretUid = secret.metadata?.uid ?? '';
    } catch (err) {
      if (statusCode(err) === 409) {
        // A previous coordinator made it (restart with jobs restored from NATS): pods still get the
        // same credential by name; without its uid (no `get` on secrets) they carry no owner reference
        // and are deleted explicitly by stopJob.
        this.options.logger.info(
          { jobId: config.jobId, secret: secretName },
          'job Secret exists; reusing it',
        );
        secretUid = '';
      } else {
        throw new KubernetesApiError(`creating Secret ${secretName}: ${apiMessage(err)}`, statusCode(err), {
          jobId: config.jobId,
          cause: err,
        });
      }
    }
    const path = `/api/v1/namespaces/${this.namespace}/pods`;
    const selector = this.selector(config.jobId);
    const informer = makeInformer<V1Pod>(
      this.options.kubeConfig,
      path,
      () => this.api.listNamespacedPod({ namespace: this.namespace, labelSelector: selector }),
      selector,
    );
    const state: JobState = { secretName, secretUid, informer, workers: new Map(), stopped: false };
    informer.on('add', (pod) => this.observe(state, pod));
    informer.on('update', (pod) => this.observe(state, pod));
    informer.on('delete', (pod) =>
      state.workers
        .get(pod.metadata?.name ?? '')
        ?.settle({ code: null, reason: `pod ${pod.metadata?.name ?? ''} was deleted` }),
    );
    informer.on('error', (err: unknown) => {
      if (state.stopped) return;
      // The informer does not restart after an error; do it after a pause (API server restart, network).
      this.options.logger.warn(
        { jobId: config.jobId, err: apiMessage(err) },
        'pod watch failed; restarting it',
      );
      setTimeout(() => {
        if (!state.stopped)
          informer
            .start()
            .catch((e: unknown) =>
              this.options.logger.warn(
                { jobId: config.jobId, err: apiMessage(e) },
                'pod watch restart failed',
              ),
            );
      }, 1_000).unref();
    });
    try {
      await informer.start();
    } catch (err) {
      await this.deleteSecret(state, config.jobId);
      throw new KubernetesApiError(
        `watching the pods of job ${config.jobId}: ${apiMessage(err)}`,
        statusCode(err),
        { jobId: config.jobId, cause: err },
      );
    }
    return state;
  }

  private observe(job: JobState, pod: V1Pod): void {
    const worker = job.workers.get(pod.metadata?.name ?? '');
    if (!worker || worker.settled) return;
    const exit = podExit(pod);
    if (!exit) return;
    worker.settle(exit);
    if (exit.code !== 0 && !worker.stopping && !job.stopped) {
      this.options.logger.warn({ pod: pod.metadata?.name, reason: exit.reason }, 'worker pod failed');
      void this.recordEvent(pod, exit.reason);
      // A pod that cannot start would wait forever; one that failed stays until the job ends (for `kubectl logs`).
      if (pod.status?.phase !== 'Failed') void this.deletePod(pod.metadata?.name ?? '');
    }
  }

  /** A Warning event on the pod, so `kubectl get events` shows why a worker failed. Best effort. */
  private async recordEvent(pod: V1Pod, message: string): Promise<void> {
    const now = new Date();
    try {
      await this.api.createNamespacedEvent({
        namespace: this.namespace,
        body: {
          metadata: {
            name: `${pod.metadata?.name ?? 'pod'}.${randomBytes(6).toString('hex')}`,
            namespace: this.namespace,
          },
          involvedObject: {
            apiVersion: 'v1',
            kind: 'Pod',
            name: pod.metadata?.name ?? '',
            namespace: this.namespace,
            uid: pod.metadata?.uid ?? '',
          },
          reason: 'WorkerFailed',
          message: message.slice(0, 1000),
          type: 'Warning',
          source: { component: 'distrain-coordinator' },
          reportingComponent: 'distrain-coordinator',
          reportingInstance: this.instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.options.logger.debug({ err: apiMessage(err) }, 'could not record a pod event');
    }
  }

  /** Deletes a pod; a pod that is already gone is fine. */
  async deletePod(name: string): Promise<void> {
    try {
      await this.api.deleteNamespacedPod({
        name,
        namespace: this.namespace,
        gracePeriodSeconds: this.options.deleteGraceSeconds ?? 10,
      });
    } catch (err) {
      if (statusCode(err) !== 404)
        throw new KubernetesApiError(`deleting pod ${name}: ${apiMessage(err)}`, statusCode(err), {
          cause: err,
        });
    }
  }

  private async deleteSecret(job: JobState, jobId: string): Promise<void> {
    try {
      await this.api.deleteNamespacedSecret({ name: job.secretName, namespace: this.namespace });
    } catch (err) {
      if (statusCode(err) !== 404)
        this.options.logger.warn({ jobId, err: apiMessage(err) }, 'could not delete the job Secret');
    }
  }

  async stopJob(jobId: string): Promise<void> {
    const pending = this.jobs.get(jobId);
    this.jobs.delete(jobId);
    const job = (await pending?.catch(() => undefined)) ?? this.orphan(jobId);
    job.stopped = true;
    // Pods this coordinator may not know (created by an earlier attempt whose answer was lost) too.
    const names = new Set(job.workers.keys());
    try {
      const list = await this.api.listNamespacedPod({
        namespace: this.namespace,
        labelSelector: this.selector(jobId),
      });
      for (const pod of list.items) if (pod.metadata?.name) names.add(pod.metadata.name);
    } catch (err) {
      this.options.logger.warn(
        { jobId, err: apiMessage(err) },
        'could not list the job pods; deleting the known ones',
      );
    }
    const results = await Promise.allSettled([...names].map((name) => this.deletePod(name)));
    await Promise.all([...job.workers.values()].map((w) => w.waitGone()));
    // The Secret owns the pods: deleting it lets the garbage collector catch anything left over.
    await this.deleteSecret(job, jobId);
    await job.informer.stop();
    for (const w of job.workers.values()) w.settle({ code: null, reason: 'job stopped' });
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0)
      throw new KubernetesApiError(
        `could not delete ${failed.length} pod(s) of job ${jobId}: ${(failed[0]?.reason as Error).message}`,
        undefined,
        { jobId },
      );
  }

  /** A job this coordinator did not start (restored after a restart): its pods are found by label. */
  private orphan(jobId: string): JobState {
    const informer = { stop: () => Promise.resolve() } as unknown as JobState['informer'];
    return {
      secretName: jobSecretName(jobId),
      secretUid: '',
      informer,
      workers: new Map(),
      stopped: true,
    };
  }

  /** The Pod for one worker attempt (see {@link workerPod}). */
  podFor(config: WorkerConfig, attempt: number, template: V1PodTemplate, job: JobOwner): V1Pod {
    return workerPod(config, attempt, template, job, {
      namespace: this.namespace,
      instance: this.instance,
      command: this.options.command,
      env: this.options.env,
    });
  }
}
