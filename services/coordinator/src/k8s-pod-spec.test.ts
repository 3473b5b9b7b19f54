import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod, V1PodTemplate } from '@kubernetes/client-node';
import type { WorkerConfig } from '@distrain/core';
import { readWorkerConfig } from '@distrain/core';
import { config, template } from './k8s-test-fixtures.ts';
import {
  KubernetesApiError,
  Labels,
  dnsLabel,
  jobLabels,
  jobSecret,
  jobSecretName,
  jobSelector,
  podExit,
  workerPod,
  workerResources,
  workerTemplateName,
} from './k8s-pod-spec.ts';

const OPTIONS = { namespace: 'ml', instance: 'rel' };

test('a trainer pod gets the job labels, owner, command, env with the secret reference, and GPU limits from the spec', () => {
  const pod = workerPod(
    config('trainer', 1, { replicas: 2, gpus: 2, resources: { cpu: '3', memory: '6Gi' } }),
    4,
    template,
    { secretName: 'distrain-job-demo-abc123', secretUid: 'uid-1' },
    OPTIONS,
  );
  assert.equal(pod.metadata?.name, 'demo-abc123-trainer-1-4');
  assert.equal(pod.metadata?.namespace, 'ml');
  assert.deepEqual(pod.metadata?.labels, {
    'app.kubernetes.io/name': 'distrain',
    'app.kubernetes.io/instance': 'rel',
    'app.kubernetes.io/component': 'trainer',
    'app.kubernetes.io/part-of': 'distrain',
    'app.kubernetes.io/managed-by': 'distrain-coordinator',
    'distrain.io/job-id': 'demo-abc123',
    'distrain.io/rank': '1',
    'distrain.io/attempt': '4',
  });
  assert.deepEqual(pod.metadata?.ownerReferences, [
    { apiVersion: 'v1', kind: 'Secret', name: 'distrain-job-demo-abc123', uid: 'uid-1', controller: true },
  ]);
  assert.equal(pod.spec?.restartPolicy, 'Never');
  assert.deepEqual(pod.spec?.nodeSelector, { gpu: 'yes' });
  const c = pod.spec?.containers[0];
  assert.deepEqual(c?.command, ['node', '--import', 'tsx', 'services/trainer/src/main.ts']);
  assert.deepEqual(c?.resources, {
    requests: { cpu: '3', memory: '6Gi' },
    limits: { memory: '6Gi', 'nvidia.com/gpu': '2' },
  });
  assert.equal(c?.env?.[0]?.name, 'A', 'template env kept');
  const cfg = JSON.parse(
    c?.env?.find((e) => e.name === 'DISTRAIN_WORKER_CONFIG')?.value ?? '{}',
  ) as WorkerConfig;
  assert.equal(cfg.rank, 1);
  assert.equal(cfg.token, undefined, 'token only through the Secret');
  assert.deepEqual(c?.env?.find((e) => e.name === 'DISTRAIN_JOB_TOKEN')?.valueFrom, {
    secretKeyRef: { name: 'distrain-job-demo-abc123', key: 'token' },
  });
  assert.equal(template.template?.spec?.containers[0]?.command, undefined, 'the template is not modified');
});

test("mutual TLS: the workers' client key goes through the job Secret, never the pod spec", () => {
  const cfg = {
    ...config('trainer', 0, { replicas: 1 }),
    tls: { ca: 'CA', cert: 'CERT', key: 'PRIVATE-KEY-PEM' },
  };
  assert.deepEqual(jobSecret(cfg, 'rel').stringData, { token: 'secret', tlsKey: 'PRIVATE-KEY-PEM' });
  const pod = workerPod(cfg, 0, template, { secretName: 's', secretUid: 'u' }, OPTIONS);
  const env = pod.spec?.containers[0]?.env ?? [];
  const publicConfig = JSON.parse(
    env.find((e) => e.name === 'DISTRAIN_WORKER_CONFIG')?.value ?? '{}',
  ) as WorkerConfig;
  assert.deepEqual(publicConfig.tls, { ca: 'CA', cert: 'CERT' });
  assert.ok(!JSON.stringify(pod).includes('PRIVATE-KEY-PEM'));
  assert.deepEqual(env.find((e) => e.name === 'DISTRAIN_JOB_TLS_KEY')?.valueFrom, {
    secretKeyRef: { name: 's', key: 'tlsKey' },
  });
  // The worker puts it back together.
  const read = readWorkerConfig({
    DISTRAIN_WORKER_CONFIG: JSON.stringify(publicConfig),
    DISTRAIN_JOB_TOKEN: 'secret',
    DISTRAIN_JOB_TLS_KEY: 'PRIVATE-KEY-PEM',
  });
  assert.deepEqual(read.tls, { ca: 'CA', cert: 'CERT', key: 'PRIVATE-KEY-PEM' });
  assert.equal(read.token, 'secret');
});

test('the evaluator and CPU trainers ask for no GPU', () => {
  for (const cfg of [
    config('evaluator', 0, { replicas: 2, gpus: 2 }),
    config('trainer', 0, { replicas: 2 }),
  ]) {
    const pod = workerPod(cfg, 0, template, { secretName: 's', secretUid: 'u' }, OPTIONS);
    assert.equal(pod.spec?.containers[0]?.resources?.limits?.['nvidia.com/gpu'], undefined);
  }
});

test('pod phases map to worker exits', () => {
  const pod = (status: V1Pod['status']): V1Pod => ({ metadata: { name: 'p' }, status });
  assert.equal(podExit(pod({ phase: 'Running' })), undefined);
  assert.equal(podExit(pod({ phase: 'Pending' })), undefined);
  assert.deepEqual(podExit(pod({ phase: 'Succeeded' })), { code: 0, reason: 'exited' });
  const log =
    '{"level":30,"msg":"step"}\n{"level":50,"msg":"trainer failed","err":{"message":"parameter server unreachable"}}';
  assert.deepEqual(
    podExit(
      pod({
        phase: 'Failed',
        containerStatuses: [
          {
            name: 'w',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 1, reason: 'Error', message: log } },
          },
        ],
      }),
    ),
    {
      code: 1,
      reason: 'pod p failed: Error (exit code 1): parameter server unreachable',
    },
  );
  assert.deepEqual(podExit(pod({ phase: 'Failed', reason: 'Evicted', message: 'low memory' })), {
    code: null,
    reason: 'pod p failed: Evicted: low memory',
  });
  assert.deepEqual(
    podExit(
      pod({
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'w',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ImagePullBackOff', message: 'not found' } },
          },
        ],
      }),
    ),
    {
      code: null,
      reason: 'pod p cannot start: ImagePullBackOff: not found',
    },
  );
});

test('names become DNS labels', () => {
  assert.equal(dnsLabel('Distrain_Job.X'), 'distrain-job-x');
  const long = dnsLabel('a'.repeat(80));
  assert.ok(long.length <= 63 && /^[a-z0-9-]+$/.test(long));
});

test('job labels, selector and Secret', () => {
  assert.equal(jobSelector('rel', 'j-1'), 'app.kubernetes.io/instance=rel,distrain.io/job-id=j-1');
  assert.equal(jobLabels('rel', 'j-1')[Labels.jobId], 'j-1');
  assert.equal(jobSecretName('Demo_ABC'), 'distrain-job-demo-abc');
  const withToken = jobSecret(config('trainer', 0, { replicas: 1 }), 'rel');
  assert.equal(withToken.metadata?.name, 'distrain-job-demo-abc123');
  assert.equal(withToken.metadata?.labels?.[Labels.component], 'job');
  assert.equal(withToken.metadata?.labels?.[Labels.instance], 'rel');
  assert.deepEqual(withToken.stringData, { token: 'secret' });
  const { token: _t, ...noToken } = config('trainer', 0, { replicas: 1 });
  const fresh = jobSecret(noToken, 'rel').stringData?.['token'] ?? '';
  assert.match(fresh, /^[0-9a-f]{48}$/, 'a fresh credential when the config has none');
});

test('trainers asking for GPUs get the GPU template; the evaluator never does', () => {
  const names = { workerTemplate: 'cpu-t', gpuWorkerTemplate: 'gpu-t' };
  assert.equal(workerTemplateName(config('trainer', 0, { replicas: 1, gpus: 1 }), names), 'gpu-t');
  assert.equal(workerTemplateName(config('trainer', 0, { replicas: 1 }), names), 'cpu-t');
  assert.equal(workerTemplateName(config('evaluator', 0, { replicas: 1, gpus: 1 }), names), 'cpu-t');
  assert.equal(workerTemplateName(config('trainer', 0, { replicas: 1, gpus: 1 })), 'distrain-worker-gpu');
  assert.equal(workerTemplateName(config('trainer', 0, { replicas: 1 })), 'distrain-worker');
});

test('resources: template values kept, the spec overrides cpu and memory, template GPUs dropped', () => {
  const base = {
    requests: { cpu: '1', 'nvidia.com/gpu': '1' },
    limits: { 'nvidia.com/gpu': '4', 'ephemeral-storage': '1Gi' },
  };
  assert.deepEqual(
    workerResources(config('trainer', 0, { replicas: 1, resources: { memory: '2Gi' } }), base),
    {
      requests: { cpu: '1', memory: '2Gi' },
      limits: { 'ephemeral-storage': '1Gi', memory: '2Gi' },
    },
  );
  assert.deepEqual(
    workerResources(config('evaluator', 0, { replicas: 1, gpus: 2, resources: { cpu: '8' } }), undefined),
    {},
  );
});

test('extra env, the command option and the worker container; no owner without the Secret uid', () => {
  const tpl: V1PodTemplate = {
    metadata: { name: 't' },
    template: {
      metadata: { annotations: { a: 'b' } },
      spec: {
        containers: [
          { name: 'sidecar', image: 's' },
          { name: 'worker', image: 'w', terminationMessagePolicy: 'File' },
        ],
      },
    },
  };
  const pod = workerPod(
    config('evaluator', 0, { replicas: 1 }),
    0,
    tpl,
    { secretName: 's', secretUid: '' },
    {
      ...OPTIONS,
      command: ['node', 'dist'],
      env: { DISTRAIN_LOG_LEVEL: 'debug' },
    },
  );
  const [sidecar, worker] = pod.spec?.containers ?? [];
  assert.equal(sidecar?.env, undefined, 'only the worker container is changed');
  assert.deepEqual(worker?.command, ['node', 'dist', 'services/evaluator/src/main.ts']);
  assert.deepEqual(worker?.args, []);
  assert.deepEqual(
    worker?.env?.map((e) => e.name),
    ['DISTRAIN_LOG_LEVEL', 'DISTRAIN_WORKER_CONFIG', 'DISTRAIN_JOB_TOKEN'],
  );
  assert.equal(worker?.terminationMessagePolicy, 'File', 'a template choice is kept');
  assert.deepEqual(pod.metadata?.ownerReferences, []);
  assert.deepEqual(pod.metadata?.annotations, { a: 'b' });
  assert.equal(pod.metadata?.labels?.[Labels.component], 'evaluator');
});

test('a template without a spec or a container is a KubernetesApiError naming it', () => {
  const cfg = config('trainer', 0, { replicas: 1 });
  const owner = { secretName: 's', secretUid: 'u' };
  assert.throws(
    () => workerPod(cfg, 0, { metadata: { name: 'empty' } }, owner, OPTIONS),
    (err: unknown) => {
      assert.ok(err instanceof KubernetesApiError);
      assert.equal(err.message, 'PodTemplate empty has no template.spec');
      assert.equal(err.jobId, 'demo-abc123');
      return true;
    },
  );
  assert.throws(
    () =>
      workerPod(cfg, 0, { metadata: { name: 'nc' }, template: { spec: { containers: [] } } }, owner, OPTIONS),
    /PodTemplate nc has no container/,
  );
});
