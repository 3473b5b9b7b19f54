/**
 * The coordinator as TrainingJob operator (`--watch-crds true`) against the Kubernetes API double:
 * `kubectl apply` of a TrainingJob (a POST, as kubectl sends it) runs the job through the usual
 * services; the status (state, epochs with accuracy, conditions with reasons) is written back; the
 * job shows in the same `list` as gRPC submissions; deleting the resource cancels the job (the
 * finalizer holds it until then); a bad spec is reported in status; the calls made are the Role's.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import { DistrainClient } from '@distrain/client';
import { FINALIZER, OPERATOR_API_CALLS } from '../../services/coordinator/src/crd-operator.ts';
import type { TrainingJobStatus } from '../../services/coordinator/src/crd-operator.ts';
import { ROOT } from '../support/cli.ts';
import { KubeApiDouble } from '../support/k8s-api-double.ts';
import type { KubeObject } from '../support/k8s-api-double.ts';
import { kustomize } from '../support/manifests.ts';
import { TEST_TOKEN, startService } from '../support/services.ts';
import type { ServiceProcess } from '../support/services.ts';

const NS = 'ml';
const BASE = `/apis/distrain.io/v1/namespaces/${NS}/trainingjobs`;
let double: KubeApiDouble;
let loader: ServiceProcess;
let ps: ServiceProcess;
let coordinator: ServiceProcess;
let client: DistrainClient;

/** examples/mnist-mlp.yaml as a user applies it, made small: 3,000 samples, one trainer. */
function trainingJob(name: string, epochs: number): KubeObject {
  const doc = parseYaml(readFileSync(join(ROOT, 'examples/mnist-mlp.yaml'), 'utf8')) as KubeObject & {
    spec: Record<string, Record<string, unknown> | number>;
  };
  doc.metadata = { name };
  doc.spec['dataset'] = { name: 'mnist', sampleCount: 3000 };
  doc.spec['trainers'] = { replicas: 1 };
  doc.spec['epochs'] = epochs;
  return doc;
}

const api = async (method: string, path: string, body?: unknown): Promise<Response> =>
  fetch(`http://127.0.0.1:${double.port}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

const resource = (name: string): (KubeObject & { status?: TrainingJobStatus }) | undefined =>
  double.list('trainingjobs', NS).find((o) => o.metadata.name === name);

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await sleep(200);
  }
}

before(async () => {
  double = new KubeApiDouble({ workdirMap: {} });
  await double.start();
  const dir = mkdtempSync(join(tmpdir(), 'distrain-operator-'));
  writeFileSync(join(dir, 'kubeconfig'), double.kubeconfig(NS));
  [loader, ps] = await Promise.all([
    startService('data-loader', ['--port', '0']),
    startService('parameter-server', ['--port', '0', '--shard-index', '0']),
  ]);
  coordinator = await startService('coordinator', [
    '--port', '0', '--loader', `127.0.0.1:${loader.port}`, '--ps', `127.0.0.1:${ps.port}`,
    '--watch-crds', 'true', '--kubeconfig', join(dir, 'kubeconfig'), '--namespace', NS,
  ]); // prettier-ignore
  client = new DistrainClient({ address: `127.0.0.1:${coordinator.port}`, token: TEST_TOKEN });
});

after(async () => {
  client?.close();
  await coordinator?.stop();
  await Promise.all([loader?.stop(), ps?.stop()]);
  await double?.close();
});

test('apply a TrainingJob: it runs to Succeeded with status written back', { timeout: 300_000 }, async () => {
  const res = await api('POST', BASE, trainingJob('digits', 2));
  assert.equal(res.status, 201);
  const done = await until('Succeeded', 280_000, () => {
    const r = resource('digits');
    return ['Succeeded', 'Failed', 'Cancelled'].includes(r?.status?.state ?? '') ? r : undefined;
  });
  const status = done.status as TrainingJobStatus;
  assert.equal(status.state, 'Succeeded', JSON.stringify(status));
  assert.deepEqual(done.metadata.finalizers, [FINALIZER]);
  assert.equal(status.epoch, 2);
  assert.deepEqual(
    status.epochs?.map((e) => e.epoch),
    [1, 2],
  );
  assert.ok((status.accuracy ?? 0) > 0.7, `accuracy ${status.accuracy}`);
  assert.equal(status.accuracy, Math.round((status.epochs?.[1]?.testAccuracy ?? 0) * 1e4) / 1e4);
  assert.equal(status.observedGeneration, 1);
  assert.ok(status.completionTime && status.startTime);
  const conditions = new Map(status.conditions?.map((c) => [c.type, c]));
  assert.equal(conditions.get('Created')?.reason, 'JobCreated');
  assert.equal(conditions.get('Running')?.status, 'False');
  assert.equal(conditions.get('Succeeded')?.status, 'True');
  assert.equal(conditions.get('Succeeded')?.reason, 'JobSucceeded');
  // One store: the resource's job is in the same list as gRPC submissions.
  const viaGrpc = await client.submit(trainingJob('grpc-side', 1) as never);
  const ids = (await client.list()).map((j) => j.id);
  assert.ok(ids.includes(status.jobId ?? ''), `${status.jobId} in ${ids.join(',')}`);
  assert.ok(ids.includes(viaGrpc.id));
  assert.equal((await client.get(status.jobId ?? '')).state, 'JOB_STATE_SUCCEEDED');
  await client.cancel(viaGrpc.id);
  // A gRPC submission does not become a resource.
  assert.equal(double.list('trainingjobs', NS).length, 1);
});

test(
  'delete a running TrainingJob: the job is cancelled, then the finalizer lets it go',
  { timeout: 200_000 },
  async () => {
    assert.equal((await api('POST', BASE, trainingJob('long', 500))).status, 201);
    const running = await until('Running', 150_000, () =>
      resource('long')?.status?.state === 'Running' ? resource('long') : undefined,
    );
    const jobId = running.status?.jobId ?? '';
    const del = await api('DELETE', `${BASE}/long`);
    assert.equal(del.status, 200);
    await until('the resource gone', 60_000, () => (resource('long') ? undefined : true));
    const job = await client.get(jobId);
    assert.equal(job.state, 'JOB_STATE_CANCELLED');
    assert.match(job.reason, /TrainingJob long was deleted/);
  },
);

test('a spec the coordinator rejects is reported in status with the field', { timeout: 60_000 }, async () => {
  const bad = trainingJob('bad', 1) as KubeObject & {
    spec: { model: { layers: Record<string, unknown>[] } };
  };
  bad.spec.model.layers[1] = { type: 'dense', units: 0 };
  assert.equal((await api('POST', BASE, bad)).status, 201);
  const r = await until('Failed', 50_000, () =>
    resource('bad')?.status?.state === 'Failed' ? resource('bad') : undefined,
  );
  assert.match(r.status?.reason ?? '', /layers\[1\]\.units/);
  const failed = r.status?.conditions?.find((c) => c.type === 'Failed');
  assert.equal(failed?.reason, 'InvalidSpec');
  assert.ok(!(await client.list()).some((j) => j.name === 'bad'), 'no job for a rejected spec');
  await api('DELETE', `${BASE}/bad`);
  await until('bad gone', 20_000, () => (resource('bad') ? undefined : true));
});

test('the operator made exactly the calls the Role grants for distrain.io', () => {
  // create and delete came from the test (the kubectl user), not the operator.
  const user = new Set(['trainingjobs:create', 'trainingjobs:delete']);
  const made = [...new Set(double.calls.filter((c) => c.startsWith('trainingjobs') && !user.has(c)))].sort();
  assert.deepEqual(made, [...OPERATOR_API_CALLS].sort());
  const role = kustomize('k8s/overlays/cpu').find((o) => o.kind === 'Role');
  const rules = (role?.['rules'] ?? []) as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  const granted = rules
    .filter((r) => r.apiGroups.includes('distrain.io'))
    .flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${res}:${v}`)))
    .sort();
  assert.deepEqual(granted, made);
});
