/**
 * The coordinator's Kubernetes launcher, end to end, against an in-test Kubernetes API server that
 * runs the pods it is given as local processes (test/support/k8s-api-double.ts). The worker
 * PodTemplate comes from the shipped kustomize output. A real 2-trainer job trains through pods and
 * reaches the accuracy of the local launcher on the same spec; a failed or evicted pod is recreated
 * and the job still succeeds; the restart limit fails the job with the pod's reason; cancel deletes
 * every pod; and the API calls made are exactly the RBAC Role of the manifests.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { jobClient, sleep, unary } from '@distrain/core';
import type { Job__Output, JobServiceClient } from '@distrain/core';
import { KUBERNETES_API_CALLS } from '../../services/coordinator/src/k8s-launcher.ts';
import { ROOT } from '../support/cli.ts';
import { KubeApiDouble } from '../support/k8s-api-double.ts';
import type { KubeObject } from '../support/k8s-api-double.ts';
import { buildHelmRenderer, helmTemplate, kustomize } from '../support/manifests.ts';
import { startService } from '../support/services.ts';
import type { ServiceProcess } from '../support/services.ts';

const NAMESPACE = 'distrain-test';
const dir = mkdtempSync(join(tmpdir(), 'distrain-k8s-'));
const double = new KubeApiDouble({
  workdirMap: { '/app': ROOT },
  baseEnv: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, NODE_ENV: 'production' },
  ...(process.env['DISTRAIN_TEST_VERBOSE']
    ? { onPodLog: (pod: string, line: string) => process.stderr.write(`${pod}: ${line}\n`) }
    : {}),
});
const services: ServiceProcess[] = [];
let kubeCoordinator: ServiceProcess;
let client: JobServiceClient;
let loader = '';
let ps = '';

/** examples/mnist-mlp.yaml with overrides, as the JSON the coordinator accepts. */
function spec(edit: (s: Record<string, Record<string, unknown>>) => void = () => undefined): string {
  const doc = parse(readFileSync(join(ROOT, 'examples/mnist-mlp.yaml'), 'utf8')) as {
    spec: Record<string, Record<string, unknown>>;
  };
  doc.spec['epochs'] = 2 as unknown as Record<string, unknown>;
  edit(doc.spec);
  return JSON.stringify(doc);
}

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

async function getJob(c: JobServiceClient, id: string): Promise<Job__Output> {
  return (await unary(c, c.getJob, { id }, { timeoutMs: 10_000, retries: 3 })).job as Job__Output;
}

async function runToEnd(c: JobServiceClient, specText: string, timeoutMs = 180_000): Promise<Job__Output> {
  const job = (await unary(c, c.submitJob, { spec: specText }, { timeoutMs: 60_000 })).job as Job__Output;
  return waitFor(`job ${job.id} to end`, timeoutMs, async () => {
    const j = await getJob(c, job.id);
    return ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'].includes(j.state)
      ? j
      : undefined;
  });
}

function jobPods(jobId: string): KubeObject[] {
  return double.list('pods', NAMESPACE, `distrain.io/job-id=${jobId}`);
}

function finalAccuracy(job: Job__Output): number {
  return Number(job.epochs.at(-1)?.testAccuracy ?? 0);
}

before(async () => {
  await double.start();
  // The worker PodTemplate as shipped (cpu overlay), in the test namespace.
  for (const obj of kustomize('k8s/overlays/cpu').filter((o) => o.kind === 'PodTemplate'))
    double.seed('podtemplates', NAMESPACE, obj);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, double.kubeconfig(NAMESPACE));
  const [l, p] = await Promise.all([
    startService('data-loader', ['--port', '0']),
    startService('parameter-server', ['--port', '0', '--shard-index', '0']),
  ]);
  services.push(l, p);
  loader = `127.0.0.1:${l.port}`;
  ps = `127.0.0.1:${p.port}`;
  kubeCoordinator = await startService('coordinator', [
    '--port',
    '0',
    '--loader',
    loader,
    '--ps',
    ps,
    '--launcher',
    'kubernetes',
    '--kubeconfig',
    kubeconfig,
  ]);
  services.push(kubeCoordinator);
  client = jobClient(`127.0.0.1:${kubeCoordinator.port}`);
});

after(async () => {
  client?.close();
  await Promise.all(services.map((s) => s.stop()));
  await double.close();
});

let kubeJob: Job__Output;

test('a 2-trainer job trains end to end through pods', { timeout: 240_000 }, async () => {
  const seen = new Map<string, KubeObject>();
  const watcher = setInterval(() => {
    for (const pod of double.list('pods', NAMESPACE)) seen.set(pod.metadata.name, structuredClone(pod));
  }, 50);
  try {
    kubeJob = await runToEnd(client, spec());
  } finally {
    clearInterval(watcher);
  }
  assert.equal(kubeJob.state, 'JOB_STATE_SUCCEEDED', kubeJob.reason);
  assert.deepEqual(
    kubeJob.epochs.map((e) => Number(e.epoch)),
    [1, 2],
  );
  assert.ok(finalAccuracy(kubeJob) > 0.85, `accuracy ${finalAccuracy(kubeJob)}`);

  const pods = [...seen.values()].filter((p) => p.metadata.labels?.['distrain.io/job-id'] === kubeJob.id);
  assert.deepEqual(pods.map((p) => p.metadata.name).sort(), [
    `${kubeJob.id}-evaluator-0-0`,
    `${kubeJob.id}-trainer-0-0`,
    `${kubeJob.id}-trainer-1-0`,
  ]);
  for (const pod of pods) {
    const labels = pod.metadata.labels ?? {};
    assert.equal(labels['app.kubernetes.io/name'], 'distrain');
    assert.equal(labels['app.kubernetes.io/instance'], 'distrain');
    assert.equal(labels['app.kubernetes.io/managed-by'], 'distrain-coordinator');
    assert.equal(labels['app.kubernetes.io/part-of'], 'distrain');
    assert.ok(['trainer', 'evaluator'].includes(labels['app.kubernetes.io/component'] ?? ''));
    assert.match(labels['distrain.io/rank'] ?? '', /^[01]$/);
    const owner = pod.metadata.ownerReferences?.[0];
    assert.equal(owner?.kind, 'Secret');
    assert.equal(owner?.name, `distrain-job-${kubeJob.id}`);
    const podSpec = pod['spec'] as {
      restartPolicy: string;
      containers: { image: string; env: { name: string; value?: string; valueFrom?: unknown }[] }[];
    };
    assert.equal(podSpec.restartPolicy, 'Never');
    assert.equal(
      podSpec.containers[0]?.image,
      'ghcr.io/distrain/distrain:0.1.0',
      'image from the shipped PodTemplate',
    );
    const env = podSpec.containers[0]?.env ?? [];
    const config = JSON.parse(env.find((e) => e.name === 'DISTRAIN_WORKER_CONFIG')?.value ?? '{}') as {
      jobId: string;
      rank: number;
      worldSize: number;
      token?: string;
    };
    assert.equal(config.jobId, kubeJob.id);
    assert.equal(config.worldSize, 2);
    assert.equal(config.token, undefined, 'the credential is not in the plain env');
    assert.deepEqual(env.find((e) => e.name === 'DISTRAIN_JOB_TOKEN')?.valueFrom, {
      secretKeyRef: { name: `distrain-job-${kubeJob.id}`, key: 'token' },
    });
  }
  // Completion deletes the job's pods and its Secret.
  // (The Secret goes after the pods: wait for both rather than race the launcher's teardown.)
  await waitFor(
    'pods and Secret deleted after completion',
    20_000,
    () =>
      (jobPods(kubeJob.id).length === 0 &&
        double.list('secrets', NAMESPACE, `distrain.io/job-id=${kubeJob.id}`).length === 0) ||
      undefined,
  );
});

test('it reaches the accuracy of the local launcher on the same spec', { timeout: 240_000 }, async () => {
  const local = await startService('coordinator', [
    '--port',
    '0',
    '--loader',
    loader,
    '--ps',
    ps,
    '--launcher',
    'local',
  ]);
  services.push(local);
  const localClient = jobClient(`127.0.0.1:${local.port}`);
  try {
    const localJob = await runToEnd(localClient, spec());
    assert.equal(localJob.state, 'JOB_STATE_SUCCEEDED', localJob.reason);
    const diff = Math.abs(finalAccuracy(localJob) - finalAccuracy(kubeJob));
    // Same seed, data order and initial parameters; dropout masks may differ between runs.
    assert.ok(diff <= 0.015, `kubernetes ${finalAccuracy(kubeJob)} vs local ${finalAccuracy(localJob)}`);
  } finally {
    localClient.close();
    await local.stop();
  }
});

test(
  'a failed pod and an evicted pod are recreated and the job still succeeds',
  { timeout: 240_000 },
  async () => {
    const job = (
      await unary(
        client,
        client.submitJob,
        {
          spec: spec((s) => {
            s['epochs'] = 1 as unknown as Record<string, unknown>;
            s['fault'] = { maxRestarts: 2 };
          }),
        },
        { timeoutMs: 60_000 },
      )
    ).job as Job__Output;
    const running = (name: string): boolean =>
      (
        double.list('pods', NAMESPACE).find((p) => p.metadata.name === name)?.['status'] as
          { phase?: string } | undefined
      )?.phase === 'Running';
    // Rank 0 crashes (its process is killed as by the OOM killer); rank 1 is evicted through a status patch.
    await waitFor('trainer 0 running', 60_000, () => running(`${job.id}-trainer-0-0`) || undefined);
    assert.ok(double.kill(`${job.id}-trainer-0-0`, 'SIGKILL', 'OOMKilled'));
    await waitFor('trainer 1 running', 60_000, () => running(`${job.id}-trainer-1-0`) || undefined);
    const res = await fetch(
      `http://127.0.0.1:${double.port}/api/v1/namespaces/${NAMESPACE}/pods/${job.id}-trainer-1-0/status`,
      {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({
          status: { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' },
        }),
      },
    );
    assert.equal(res.status, 200);
    const end = await waitFor('job end', 180_000, async () => {
      const j = await getJob(client, job.id);
      return ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'].includes(j.state)
        ? j
        : undefined;
    });
    assert.equal(end.state, 'JOB_STATE_SUCCEEDED', end.reason);
    assert.equal(end.epochs.length, 1);
    const events = double.list('events', NAMESPACE);
    assert.ok(
      events.some(
        (e) => e['reason'] === 'WorkerFailed' && String(e['message']).includes('OOMKilled (exit code 137)'),
      ),
      JSON.stringify(events.map((e) => e['message'])),
    );
    assert.ok(events.some((e) => e['reason'] === 'WorkerFailed' && String(e['message']).includes('Evicted')));
    // The replacements were attempt 1 of each rank.
    const created = double.calls.filter((c) => c === 'pods:create').length;
    assert.ok(created >= 5, `pods created so far: ${created}`);
  },
);

test('past the restart limit the job fails with the pod reason', { timeout: 120_000 }, async () => {
  const job = (
    await unary(
      client,
      client.submitJob,
      {
        spec: spec((s) => {
          s['fault'] = { maxRestarts: 0 };
        }),
      },
      { timeoutMs: 60_000 },
    )
  ).job as Job__Output;
  const name = `${job.id}-trainer-1-0`;
  await waitFor(
    'trainer 1 running',
    60_000,
    () =>
      (
        double.list('pods', NAMESPACE).find((p) => p.metadata.name === name)?.['status'] as
          { phase?: string } | undefined
      )?.phase === 'Running' || undefined,
  );
  double.kill(name, 'SIGKILL', 'OOMKilled');
  const end = await waitFor('job end', 60_000, async () => {
    const j = await getJob(client, job.id);
    return j.state === 'JOB_STATE_RUNNING' || j.state === 'JOB_STATE_PENDING' ? undefined : j;
  });
  assert.equal(end.state, 'JOB_STATE_FAILED');
  assert.match(
    end.reason,
    /trainer rank 1 failed 1 times \(restart limit 0\): pod .*trainer-1-0 failed: OOMKilled \(exit code 137\)/,
  );
  await waitFor('pods deleted after failure', 20_000, () => jobPods(job.id).length === 0 || undefined);
});

test('cancel deletes every pod of the job and its Secret', { timeout: 120_000 }, async () => {
  const job = (await unary(client, client.submitJob, { spec: spec() }, { timeoutMs: 60_000 }))
    .job as Job__Output;
  const phase = (p: KubeObject): string | undefined => (p['status'] as { phase?: string } | undefined)?.phase;
  await waitFor('3 running pods', 60_000, () =>
    jobPods(job.id).filter((p) => phase(p) === 'Running').length === 3 ? true : undefined,
  );
  await sleep(2_000); // workers are past start-up, talking to the coordinator
  assert.equal(double.list('secrets', NAMESPACE, `distrain.io/job-id=${job.id}`).length, 1);
  const res = await unary(client, client.cancelJob, { id: job.id, reason: 'test' }, { timeoutMs: 60_000 });
  assert.equal(res.job?.state, 'JOB_STATE_CANCELLED');
  // stopJob waits for the pods to be gone before it returns.
  assert.deepEqual(
    jobPods(job.id).map((p) => p.metadata.name),
    [],
  );
  assert.equal(double.list('secrets', NAMESPACE, `distrain.io/job-id=${job.id}`).length, 0);
});

test('the RBAC Role of the manifests and the chart grants exactly the calls the launcher made', () => {
  // Status patches come from the test (as the kubelet or an eviction), not from the launcher.
  const made = [...new Set(double.calls.filter((c) => !c.startsWith('pods/status:')))].sort();
  assert.deepEqual(made, [...KUBERNETES_API_CALLS].sort(), 'calls recorded by the API double');
  const grants = (objects: KubeObject[]): string[] => {
    const role = objects.find((o) => o.kind === 'Role');
    assert.ok(role, 'a Role');
    const rules = role['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const out: string[] = [];
    // The core group is the launcher's; distrain.io (TrainingJobs) the operator's (crd-operator.test.ts).
    for (const r of rules.filter((x) => x.apiGroups.includes(''))) {
      assert.deepEqual(r.apiGroups, [''], 'core group only');
      for (const res of r.resources) for (const v of r.verbs) out.push(`${res}:${v}`);
    }
    return out.sort();
  };
  assert.deepEqual(grants(kustomize('k8s/overlays/cpu')), made, 'kustomize Role');
  assert.deepEqual(grants(helmTemplate(buildHelmRenderer())), made, 'Helm chart Role');
});
