/**
 * The pure part of the Kubernetes launcher: what the worker Pods and the job Secret look like
 * (names, labels, owner references, command, env, resources, GPUs) and how a Pod's status reads as a
 * worker exit. No API calls here; `k8s-launcher.ts` makes them.
 */
import { randomBytes } from 'node:crypto';
import type {
  V1Container,
  V1EnvVar,
  V1Pod,
  V1PodTemplate,
  V1ResourceRequirements,
  V1Secret,
} from '@kubernetes/client-node';
import { DistrainError, JOB_TLS_KEY_ENV, JOB_TOKEN_ENV, WORKER_CONFIG_ENV, roleEntry } from '@distrain/core';
import type { WorkerConfig } from '@distrain/core';
import type { WorkerExit } from './launcher.ts';

/** Label keys (the standard `app.kubernetes.io/*` plus ours). */
export const Labels = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  jobId: 'distrain.io/job-id',
  rank: 'distrain.io/rank',
  attempt: 'distrain.io/attempt',
} as const;

/** A Kubernetes API call failed (status code from the API server, if any). */
export class KubernetesApiError extends DistrainError {
  override name = 'KubernetesApiError';
  constructor(
    message: string,
    readonly statusCode: number | undefined,
    context: { jobId?: string; cause?: unknown } = {},
  ) {
    super(message, context);
  }
}

/** Container waiting reasons that never heal without a change: the worker counts as failed. */
const FATAL_WAITING = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

/** Makes a DNS-1123 label from any string (lower case, `-`, at most 63 characters). */
export function dnsLabel(s: string): string {
  const clean = s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (clean.length <= 63) return clean || 'x';
  const hash = randomBytes(3).toString('hex');
  return `${clean.slice(0, 56).replace(/-+$/, '')}-${hash}`;
}

/** Where the launcher's objects live and what they carry (see `KubernetesLauncherOptions`). */
export interface PodSpecOptions {
  namespace: string;
  /** `app.kubernetes.io/instance` of the workers. */
  instance: string;
  /** Command before a role's entry module. @default as this coordinator runs: ['node', '--conditions=compiled'] compiled, ['node', '--import', 'tsx'] from source */
  command?: string[] | undefined;
  /** Extra environment for workers. */
  env?: Record<string, string> | undefined;
}

/** The job's Secret: its name, and its uid once created ('' when unknown: no owner references). */
export interface JobOwner {
  secretName: string;
  secretUid: string;
}

/** Labels every object of a job carries; name, instance and job id select them. */
export function jobLabels(instance: string, jobId: string): Record<string, string> {
  return {
    [Labels.name]: 'distrain',
    [Labels.instance]: instance,
    [Labels.jobId]: jobId,
    [Labels.partOf]: 'distrain',
    [Labels.managedBy]: 'distrain-coordinator',
  };
}

/** The label selector of a job's pods. */
export function jobSelector(instance: string, jobId: string): string {
  return `${Labels.instance}=${instance},${Labels.jobId}=${jobId}`;
}

/** The name of a job's Secret. */
export function jobSecretName(jobId: string): string {
  return dnsLabel(`distrain-job-${jobId}`);
}

/** The job's Secret (key `token`: the workers' credential; a fresh one when the config has none). */
export function jobSecret(config: WorkerConfig, instance: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: jobSecretName(config.jobId),
      labels: { ...jobLabels(instance, config.jobId), [Labels.component]: 'job' },
    },
    stringData: {
      token: config.token ?? randomBytes(24).toString('hex'),
      // Mutual TLS: the workers' client key stays out of the pod spec.
      ...(config.tls?.key ? { tlsKey: config.tls.key } : {}),
    },
  };
}

/** GPUs a worker asks for: the spec's `trainers.gpus` for trainers, none for the evaluator. */
export function workerGpus(config: WorkerConfig): number {
  return config.role === 'trainer' ? config.job.spec.trainers.gpus : 0;
}

/** The PodTemplate a worker is made from: the GPU one for trainers asking for GPUs. */
export function workerTemplateName(
  config: WorkerConfig,
  templates: { workerTemplate?: string | undefined; gpuWorkerTemplate?: string | undefined } = {},
): string {
  return workerGpus(config) > 0
    ? (templates.gpuWorkerTemplate ?? 'distrain-worker-gpu')
    : (templates.workerTemplate ?? 'distrain-worker');
}

/** The Pod for one worker attempt: the template plus our name, labels, owner, command, env and resources. */
export function workerPod(
  config: WorkerConfig,
  attempt: number,
  template: V1PodTemplate,
  owner: JobOwner,
  options: PodSpecOptions,
): V1Pod {
  const spec = structuredClone(template.template?.spec);
  if (!spec)
    throw new KubernetesApiError(
      `PodTemplate ${template.metadata?.name ?? ''} has no template.spec`,
      undefined,
      { jobId: config.jobId },
    );
  const containers: V1Container[] = spec.containers ?? [];
  const container = containers.find((c) => c.name === 'worker') ?? containers[0];
  if (!container)
    throw new KubernetesApiError(`PodTemplate ${template.metadata?.name ?? ''} has no container`, undefined, {
      jobId: config.jobId,
    });
  const name = dnsLabel(`${config.jobId}-${config.role}-${config.rank}-${attempt}`);
  const { token: _token, tls, ...rest } = config;
  const { key: tlsKey, ...publicTls } = tls ?? {};
  const publicConfig = tls ? { ...rest, tls: publicTls } : rest;
  const env: V1EnvVar[] = [
    ...(container.env ?? []),
    ...Object.entries(options.env ?? {}).map(([k, v]) => ({ name: k, value: v })),
    { name: WORKER_CONFIG_ENV, value: JSON.stringify(publicConfig) },
    { name: JOB_TOKEN_ENV, valueFrom: { secretKeyRef: { name: owner.secretName, key: 'token' } } },
    ...(tlsKey
      ? [{ name: JOB_TLS_KEY_ENV, valueFrom: { secretKeyRef: { name: owner.secretName, key: 'tlsKey' } } }]
      : []),
  ];
  container.env = env;
  container.command = [
    // The workers run the same form of the code as this coordinator: compiled JavaScript in the
    // images (`node --conditions=compiled services/<role>/dist/main.js`), TypeScript through tsx
    // in development.
    ...(options.command ?? roleEntry(config.role).command.slice(0, -1)),
    roleEntry(config.role).command.at(-1)!,
  ];
  container.args = [];
  container.resources = workerResources(config, container.resources);
  container.terminationMessagePolicy ??= 'FallbackToLogsOnError';
  spec.restartPolicy = 'Never';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: options.namespace,
      labels: {
        ...template.template?.metadata?.labels,
        ...jobLabels(options.instance, config.jobId),
        [Labels.component]: config.role,
        [Labels.rank]: String(config.rank),
        [Labels.attempt]: String(attempt),
      },
      annotations: { ...template.template?.metadata?.annotations },
      ownerReferences: owner.secretUid
        ? [
            {
              apiVersion: 'v1',
              kind: 'Secret',
              name: owner.secretName,
              uid: owner.secretUid,
              controller: true,
            },
          ]
        : [],
    },
    spec,
  };
}

/** Template resources, with the spec's cpu/memory as requests (memory also as limit) and GPUs as limit. */
export function workerResources(
  config: WorkerConfig,
  base: V1ResourceRequirements | undefined,
): V1ResourceRequirements {
  const requests: Record<string, string> = { ...base?.requests };
  const limits: Record<string, string> = { ...base?.limits };
  delete requests['nvidia.com/gpu'];
  delete limits['nvidia.com/gpu'];
  if (config.role === 'trainer') {
    const r = config.job.spec.trainers.resources;
    if (r?.cpu) requests['cpu'] = r.cpu;
    if (r?.memory) {
      requests['memory'] = r.memory;
      limits['memory'] = r.memory;
    }
    const gpus = config.job.spec.trainers.gpus;
    if (gpus > 0) limits['nvidia.com/gpu'] = String(gpus);
  }
  const out: V1ResourceRequirements = {};
  if (Object.keys(requests).length > 0) out.requests = requests;
  if (Object.keys(limits).length > 0) out.limits = limits;
  return out;
}

/** The last error a worker logged, from a termination message (JSON log lines, as LocalLauncher reads them). */
export function lastError(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] ?? '';
    try {
      const parsed = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      if ((parsed.level ?? 0) >= 50) return parsed.err?.message ?? parsed.msg ?? line;
    } catch {
      if (/error/i.test(line)) return line.slice(0, 500);
    }
  }
  return (lines.at(-1) ?? '').slice(0, 500);
}

/** How a pod ended, or undefined while it still runs. Exported for tests. */
export function podExit(pod: V1Pod): WorkerExit | undefined {
  const name = pod.metadata?.name ?? '?';
  const status = pod.status;
  const container = status?.containerStatuses?.[0];
  const terminated = container?.state?.terminated;
  if (status?.phase === 'Succeeded') return { code: 0, reason: 'exited' };
  if (status?.phase === 'Failed') {
    if (terminated) {
      const why = terminated.message ? `: ${lastError(terminated.message)}` : '';
      return {
        code: terminated.exitCode,
        reason: `pod ${name} failed: ${terminated.reason ?? 'Error'} (exit code ${terminated.exitCode})${why}`,
      };
    }
    return {
      code: null,
      reason: `pod ${name} failed: ${status.reason ?? 'Failed'}${status.message ? `: ${status.message}` : ''}`,
    };
  }
  const waiting = container?.state?.waiting;
  if (waiting?.reason && FATAL_WAITING.has(waiting.reason)) {
    return {
      code: null,
      reason: `pod ${name} cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`,
    };
  }
  return undefined;
}
