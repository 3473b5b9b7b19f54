/**
 * Fixtures shared by the Kubernetes launcher's tests: a worker's config for a small valid job, and a
 * GPU worker PodTemplate.
 */
import type { V1PodTemplate } from '@kubernetes/client-node';
import { validateJob } from '@distrain/core';
import type { WorkerConfig } from '@distrain/core';

export function config(
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

export const template: V1PodTemplate = {
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
