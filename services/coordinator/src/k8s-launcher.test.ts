import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import type { V1PodTemplate } from '@kubernetes/client-node';
import { silentLogger, validateJob } from '@distrain/core';
import type { WorkerConfig } from '@distrain/core';
import { KubernetesLauncher } from './k8s-launcher.ts';

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

test('the launcher builds pods in its namespace and instance (see k8s-pod-spec.test.ts)', () => {
  const pod = launcher.podFor(config('trainer', 1, { replicas: 2 }), 4, template, {
    secretName: 'distrain-job-demo-abc123',
    secretUid: 'uid-1',
  });
  assert.equal(pod.metadata?.namespace, 'ml');
  assert.equal(pod.metadata?.labels?.['app.kubernetes.io/instance'], 'rel');
  assert.deepEqual(pod.spec?.containers[0]?.command, [
    'node',
    '--import',
    'tsx',
    'services/trainer/src/main.ts',
  ]);
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
