import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import type { V1Pod, V1PodTemplate } from '@kubernetes/client-node';
import { silentLogger, validateJob } from '@distrain/core';
import type { WorkerConfig } from '@distrain/core';
import { KubernetesLauncher, dnsLabel, podExit } from './k8s-launcher.ts';

const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
  users: [{ name: 'u' }],
  contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
  currentContext: 'x',
});
const launcher = new KubernetesLauncher({
  kubeConfig: kc,
  namespace: 'ml',
  logger: silentLogger(),
  instance: 'rel',
});

function config(
  role: 'trainer' | 'evaluator',
  rank: number,
  trainers: Record<string, unknown>,
): WorkerConfig {
  const job = validateJob({
    apiVersion: 'distrain.io/v1',
    kind: 'TrainingJob',
    metadata: { name: 'demo' },
    spec: {
      dataset: { name: 'mnist' },
      model: { layers: [{ type: 'flatten' }, { type: 'dense', units: 10 }] },
      loss: 'softmaxCrossEntropy',
      optimizer: { type: 'sgd', learningRate: 0.1 },
      batchSize: 32,
      epochs: 1,
      trainers,
    },
  });
  return {
    jobId: 'demo-abc123',
    role,
    rank,
    worldSize: 2,
    coordinator: 'c:1',
    loader: 'l:1',
    psShards: ['p:1'],
    job,
    dataset: {
      datasetId: 'd',
      trainCount: 1,
      testCount: 1,
      featureShape: [28, 28],
      featureDtype: 'uint8',
      featureScale: 1 / 255,
      numClasses: 10,
      classNames: [],
    },
    stepsPerEpoch: 1,
    token: 'secret',
  };
}

const template: V1PodTemplate = {
  metadata: { name: 'distrain-worker-gpu' },
  template: {
    metadata: { labels: { 'app.kubernetes.io/name': 'distrain' } },
    spec: {
      nodeSelector: { gpu: 'yes' },
      containers: [
        {
          name: 'worker',
          image: 'img:1',
          workingDir: '/app',
          env: [{ name: 'A', value: '1' }],
          resources: { requests: { cpu: '2' }, limits: { memory: '8Gi', 'nvidia.com/gpu': '1' } },
        },
      ],
    },
  },
};

test('a trainer pod gets the job labels, owner, command, env with the secret reference, and GPU limits from the spec', () => {
  const pod = launcher.podFor(
    config('trainer', 1, { replicas: 2, gpus: 2, resources: { cpu: '3', memory: '6Gi' } }),
    4,
    template,
    { secretName: 'distrain-job-demo-abc123', secretUid: 'uid-1' },
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

test('the evaluator and CPU trainers ask for no GPU', () => {
  for (const cfg of [
    config('evaluator', 0, { replicas: 2, gpus: 2 }),
    config('trainer', 0, { replicas: 2 }),
  ]) {
    const pod = launcher.podFor(cfg, 0, template, { secretName: 's', secretUid: 'u' });
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

test('stopJob of a job this coordinator did not start still deletes its pods and Secret by label', async () => {
  const { KubeApiDouble } = await import('../../../test/support/k8s-api-double.ts');
  const double = new KubeApiDouble({ workdirMap: {} });
  await double.start();
  try {
    const kube = new KubeConfig();
    kube.loadFromString(double.kubeconfig('ml'));
    const l = new KubernetesLauncher({
      kubeConfig: kube,
      namespace: 'ml',
      logger: silentLogger(),
      instance: 'rel',
    });
    const labels = { 'app.kubernetes.io/instance': 'rel', 'distrain.io/job-id': 'old-1' };
    double.seed('pods', 'ml', {
      metadata: { name: 'old-1-trainer-0-0', labels },
      spec: { containers: [] },
      status: { phase: 'Succeeded' },
    });
    double.seed('secrets', 'ml', { metadata: { name: 'distrain-job-old-1', labels } });
    await l.stopJob('old-1');
    assert.deepEqual(double.list('pods', 'ml'), []);
    assert.deepEqual(double.list('secrets', 'ml'), []);
  } finally {
    await double.close();
  }
});
