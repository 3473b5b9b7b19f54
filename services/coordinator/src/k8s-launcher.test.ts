import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { silentLogger } from '@distrain/core';
import { KubernetesLauncher } from './k8s-launcher.ts';
import { config, template } from './k8s-test-fixtures.ts';

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
