// Over 400 lines: every shipped Kubernetes variant is rendered once and checked by the tests in this one file.
/**
 * Every shipped Kubernetes variant, rendered as a user would: `kubectl kustomize` of each overlay (and
 * of a test overlay adding the optional components), and the Helm chart with its default values and
 * each `ci/*-values.yaml` (rendered by test/k8s/helm-render: Go text/template + sprig, the engines Helm
 * uses). Every object is validated against the official Kubernetes schemas (`kubernetes-models`,
 * Prometheus Operator CRDs from `@kubernetes-models/prometheus-operator`), then against our rules:
 * probes, non-root, read-only root filesystem, pinned images, selectors on name/instance/component
 * only, named grpc/metrics ports, GPU requests only in GPU variants, NATS JetStream with a volume.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { MALLOC_TUNABLES } from '@distrain/core';
import { ROOT } from '../support/cli.ts';
import type { KubeObject } from '../support/k8s-api-double.ts';
import { buildHelmRenderer, chartCiValues, helmTemplate, kustomize } from '../support/manifests.ts';

interface Variant {
  name: string;
  objects: KubeObject[];
  gpu: boolean;
  externalNats: boolean;
  helm: boolean;
  /** TLS on: probes are TCP checks (the kubelet's gRPC probe speaks plaintext only). */
  tls?: boolean;
}

const SELECTOR_KEYS = ['app.kubernetes.io/component', 'app.kubernetes.io/instance', 'app.kubernetes.io/name'];
const DISTRAIN_COMPONENTS = new Set(['coordinator', 'data-loader', 'parameter-server']);

type Validator = new (data: unknown) => { validate(): void };

/** The kubernetes-models class for an apiVersion + kind (core, apps, rbac, policy, monitoring.coreos.com). */
async function modelClass(apiVersion: string, kind: string): Promise<Validator> {
  const module = apiVersion.startsWith('monitoring.coreos.com/')
    ? `@kubernetes-models/prometheus-operator/${apiVersion}`
    : `kubernetes-models/${apiVersion}`;
  const exports = (await import(module)) as Record<string, Validator | undefined>;
  const cls = exports[kind];
  assert.ok(cls, `no schema for ${apiVersion} ${kind}`);
  return cls;
}

interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: { grpc?: { port: number }; tcpSocket?: { port: number }; httpGet?: unknown };
  livenessProbe?: { grpc?: { port: number }; tcpSocket?: { port: number }; httpGet?: unknown };
  startupProbe?: unknown;
  securityContext?: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  env?: { name: string; value?: string }[];
}

interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
}

/** The pod spec inside a workload, PodTemplate or Pod. */
function podSpecOf(o: KubeObject): PodSpec | undefined {
  if (o.kind === 'Pod') return o['spec'] as PodSpec;
  if (o.kind === 'PodTemplate') return (o['template'] as { spec: PodSpec }).spec;
  if (o.kind === 'Deployment' || o.kind === 'StatefulSet')
    return (o['spec'] as { template: { spec: PodSpec } }).template.spec;
  return undefined;
}

const variants: Variant[] = [];

before(() => {
  // Fails (never skips) when kubectl or go is missing: the tests need them.
  execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
  variants.push(
    {
      name: 'kustomize overlays/cpu',
      objects: kustomize('k8s/overlays/cpu'),
      gpu: false,
      externalNats: false,
      helm: false,
    },
    {
      name: 'kustomize overlays/gpu',
      objects: kustomize('k8s/overlays/gpu'),
      gpu: true,
      externalNats: false,
      helm: false,
    },
    {
      name: 'kustomize cpu + external-nats + servicemonitor + network-policy',
      objects: kustomize('test/k8s/fixtures/external-nats'),
      gpu: false,
      externalNats: true,
      helm: false,
    },
  );
  const bin = buildHelmRenderer();
  variants.push({
    name: 'helm default values',
    objects: helmTemplate(bin),
    gpu: false,
    externalNats: false,
    helm: true,
  });
  const ci = chartCiValues();
  assert.ok(ci.length >= 2, 'charts/distrain/ci has values files');
  for (const file of ci) {
    const values = parse(readFileSync(file, 'utf8')) as {
      gpu?: { enabled?: boolean };
      nats?: { externalUrl?: string };
      tls?: { enabled?: boolean };
    };
    variants.push({
      name: `helm ${basename(file)}`,
      objects: helmTemplate(bin, { valuesFiles: [file] }),
      gpu: values.gpu?.enabled === true,
      externalNats: Boolean(values.nats?.externalUrl),
      helm: true,
      tls: values.tls?.enabled === true,
    });
  }
});

test('every rendered object is valid against the official Kubernetes schemas', async () => {
  for (const v of variants) {
    assert.ok(v.objects.length >= 12, `${v.name}: ${v.objects.length} objects`);
    for (const o of v.objects) {
      assert.ok(o.apiVersion && o.kind && o.metadata?.name, `${v.name}: object without apiVersion/kind/name`);
      const Model = await modelClass(o.apiVersion, o.kind);
      try {
        new Model(o).validate();
      } catch (err) {
        assert.fail(`${v.name}: ${o.kind}/${o.metadata.name}: ${(err as Error).message}`);
      }
    }
  }
});

test('pods run as non-root with a read-only root filesystem and pinned images', () => {
  for (const v of variants) {
    for (const o of v.objects) {
      const spec = podSpecOf(o);
      if (!spec) continue;
      const where = `${v.name}: ${o.kind}/${o.metadata.name}`;
      assert.equal(spec.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`);
      assert.ok((spec.securityContext?.runAsUser ?? 0) > 0, `${where}: runAsUser`);
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        assert.equal(
          c.securityContext?.readOnlyRootFilesystem,
          true,
          `${where} ${c.name}: readOnlyRootFilesystem`,
        );
        assert.equal(
          c.securityContext?.allowPrivilegeEscalation,
          false,
          `${where} ${c.name}: allowPrivilegeEscalation`,
        );
        assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${where} ${c.name}: capabilities`);
        assert.match(
          c.image,
          /^[^:@]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/,
          `${where} ${c.name}: image ${c.image} has a tag or digest`,
        );
        assert.doesNotMatch(c.image, /:latest$/, `${where} ${c.name}: no latest tag`);
      }
    }
  }
});

test('services have named grpc and metrics ports and gRPC health probes; every long-running container has probes', () => {
  for (const v of variants) {
    for (const o of v.objects.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) {
      const component = o.metadata.labels?.['app.kubernetes.io/component'] ?? '';
      for (const c of podSpecOf(o)?.containers ?? []) {
        const where = `${v.name}: ${o.kind}/${o.metadata.name} ${c.name}`;
        assert.ok(
          c.readinessProbe && c.livenessProbe && c.startupProbe,
          `${where}: readiness, liveness and startup probes`,
        );
        if (!DISTRAIN_COMPONENTS.has(component)) continue;
        const grpc = c.ports?.find((p) => p.name === 'grpc');
        assert.ok(grpc, `${where}: a port named grpc`);
        assert.ok(
          c.ports?.some((p) => p.name === 'metrics'),
          `${where}: a port named metrics`,
        );
        const probe = v.tls ? 'tcpSocket' : 'grpc';
        assert.equal(
          c.readinessProbe[probe]?.port,
          grpc.containerPort,
          `${where}: ${probe} readiness probe on the grpc port`,
        );
        assert.equal(
          c.livenessProbe[probe]?.port,
          grpc.containerPort,
          `${where}: ${probe} liveness probe on the grpc port`,
        );
        assert.ok(
          c.resources?.requests && c.resources.limits?.['memory'],
          `${where}: requests and a memory limit`,
        );
      }
    }
    for (const s of v.objects.filter((x) => x.kind === 'Service')) {
      const component = s.metadata.labels?.['app.kubernetes.io/component'] ?? '';
      if (!DISTRAIN_COMPONENTS.has(component)) continue;
      const names = (s['spec'] as { ports: { name: string }[] }).ports.map((p) => p.name).sort();
      // Parameter-server shards also serve the tensor data plane (ZeroMQ) on a port named `data`.
      const expected = component === 'parameter-server' ? ['data', 'grpc', 'metrics'] : ['grpc', 'metrics'];
      assert.deepEqual(names, expected, `${v.name}: Service/${s.metadata.name} ports`);
    }
    const ps = v.objects.find(
      (o) =>
        o.kind === 'StatefulSet' && o.metadata.labels?.['app.kubernetes.io/component'] === 'parameter-server',
    );
    if (ps) {
      const c = (
        ps['spec'] as {
          template: {
            spec: {
              containers: {
                ports: { name: string; containerPort: number }[];
                env: { name: string; value?: string }[];
              }[];
            };
          };
        }
      ).template.spec.containers[0];
      const data = c?.ports.find((p) => p.name === 'data');
      assert.ok(data, `${v.name}: the parameter server names its data port`);
      assert.equal(
        c?.env.find((e) => e.name === 'DISTRAIN_PS_DATA_PORT')?.value,
        String(data.containerPort),
        `${v.name}: DISTRAIN_PS_DATA_PORT is the data containerPort`,
      );
      // A restarted shard restores its jobs: checkpoints on its volume and in the NATS Object Store.
      assert.equal(
        c?.env.find((e) => e.name === 'DISTRAIN_PS_CHECKPOINT_DIR')?.value,
        '/checkpoints',
        `${v.name}: the shard writes checkpoints to its /checkpoints volume`,
      );
      assert.ok(
        c?.env.find((e) => e.name === 'DISTRAIN_NATS_URL')?.value,
        `${v.name}: the shard also keeps checkpoints in the NATS Object Store`,
      );
    }
  }
});

test('selectors use only app.kubernetes.io/name, instance and component', () => {
  for (const v of variants) {
    for (const o of v.objects) {
      const where = `${v.name}: ${o.kind}/${o.metadata.name}`;
      const spec = o['spec'] as Record<string, unknown> | undefined;
      let selector: Record<string, string> | undefined;
      if (o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'PodDisruptionBudget')
        selector = (spec?.['selector'] as { matchLabels: Record<string, string> }).matchLabels;
      else if (o.kind === 'Service') selector = spec?.['selector'] as Record<string, string>;
      else if (o.kind === 'ServiceMonitor')
        selector = (spec?.['selector'] as { matchLabels: Record<string, string> }).matchLabels;
      else continue;
      assert.ok(selector, `${where}: has a selector`);
      const keys = Object.keys(selector).sort();
      if (o.kind === 'ServiceMonitor')
        assert.deepEqual(
          keys,
          SELECTOR_KEYS.filter((k) => !k.endsWith('component')),
          `${where}: selector keys`,
        );
      else assert.deepEqual(keys, SELECTOR_KEYS, `${where}: selector keys`);
      if (o.kind === 'Deployment' || o.kind === 'StatefulSet') {
        const podLabels = (spec?.['template'] as { metadata: { labels: Record<string, string> } }).metadata
          .labels;
        for (const [k, val] of Object.entries(selector))
          assert.equal(podLabels[k], val, `${where}: pod label ${k}`);
      }
    }
  }
});

test('GPU requests, GPU node selectors and the GPU image appear only in the GPU variants', () => {
  for (const v of variants) {
    const text = JSON.stringify(v.objects);
    const gpuTemplates = v.objects.filter(
      (o) => o.kind === 'PodTemplate' && o.metadata.name.endsWith('-gpu'),
    );
    if (!v.gpu) {
      assert.doesNotMatch(text, /nvidia\.com\/gpu/, `${v.name}: no nvidia.com/gpu`);
      assert.doesNotMatch(text, /distrain-gpu:/, `${v.name}: no GPU image`);
      assert.equal(gpuTemplates.length, 0, `${v.name}: no GPU PodTemplate`);
      continue;
    }
    assert.equal(gpuTemplates.length, 1, `${v.name}: one GPU PodTemplate`);
    const spec = podSpecOf(gpuTemplates[0] as KubeObject) as PodSpec;
    assert.equal(spec.containers[0]?.resources?.limits?.['nvidia.com/gpu'], '1', `${v.name}: GPU limit`);
    assert.match(spec.containers[0]?.image ?? '', /distrain-gpu:/);
    assert.ok(spec.nodeSelector && Object.keys(spec.nodeSelector).length > 0, `${v.name}: GPU node selector`);
    assert.ok((spec.tolerations ?? []).length > 0, `${v.name}: GPU tolerations`);
    // Only that template asks for GPUs.
    for (const o of v.objects) {
      if (o !== gpuTemplates[0])
        assert.doesNotMatch(
          JSON.stringify(o),
          /nvidia\.com\/gpu"\s*:/,
          `${v.name}: ${o.kind}/${o.metadata.name} asks for no GPU`,
        );
    }
  }
});

test('NATS runs with JetStream on a volume unless an external URL is given; every service gets the URL', () => {
  for (const v of variants) {
    const nats = v.objects.find(
      (o) => o.kind === 'StatefulSet' && o.metadata.labels?.['app.kubernetes.io/component'] === 'nats',
    );
    const urls = v.objects
      .filter(
        (o) =>
          DISTRAIN_COMPONENTS.has(o.metadata.labels?.['app.kubernetes.io/component'] ?? '') &&
          (o.kind === 'Deployment' || o.kind === 'StatefulSet'),
      )
      .map((o) => podSpecOf(o)?.containers[0]?.env?.find((e) => e.name === 'DISTRAIN_NATS_URL')?.value);
    assert.equal(urls.length, 3, `${v.name}: three services`);
    if (v.externalNats) {
      assert.equal(nats, undefined, `${v.name}: no NATS StatefulSet`);
      for (const url of urls)
        assert.equal(url, 'nats://nats.nats.svc.cluster.local:4222', `${v.name}: external URL`);
      continue;
    }
    assert.ok(nats, `${v.name}: NATS StatefulSet`);
    const spec = nats['spec'] as {
      volumeClaimTemplates: { metadata: { name: string } }[];
      template: { spec: PodSpec & { containers: (Container & { args: string[] })[] } };
    };
    assert.ok(spec.template.spec.containers[0]?.args.includes('--jetstream'));
    assert.equal(spec.volumeClaimTemplates[0]?.metadata.name, 'data');
    const service = v.objects.find((o) => o.kind === 'Service' && o.metadata.name === nats.metadata.name);
    assert.ok(service, `${v.name}: NATS Service`);
    for (const url of urls)
      assert.equal(url, `nats://${nats.metadata.name}:4222`, `${v.name}: in-cluster NATS URL`);
  }
});

test('the coordinator is wired to every parameter-server shard and launches pods from the shipped templates', () => {
  for (const v of variants) {
    const coordinator = v.objects.find(
      (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'coordinator',
    ) as KubeObject;
    const ps = v.objects.find(
      (o) =>
        o.kind === 'StatefulSet' && o.metadata.labels?.['app.kubernetes.io/component'] === 'parameter-server',
    ) as KubeObject;
    const env = Object.fromEntries(
      (podSpecOf(coordinator)?.containers[0]?.env ?? []).map((e) => [e.name, e.value]),
    );
    const shards = (ps['spec'] as { replicas: number }).replicas;
    const addresses = (env['DISTRAIN_PS_ADDRESSES'] ?? '').split(',');
    assert.equal(addresses.length, shards, `${v.name}: one address per shard`);
    addresses.forEach((a, i) =>
      assert.match(
        a,
        new RegExp(`^${ps.metadata.name}-${i}\\.${ps.metadata.name}:\\d+$`),
        `${v.name}: shard ${i} address`,
      ),
    );
    assert.equal(env['DISTRAIN_LAUNCHER'], 'kubernetes');
    assert.ok(
      v.objects.some((o) => o.kind === 'PodTemplate' && o.metadata.name === env['DISTRAIN_WORKER_TEMPLATE']),
      `${v.name}: worker template exists`,
    );
    assert.equal(env['DISTRAIN_GPU_WORKER_TEMPLATE'], `${env['DISTRAIN_WORKER_TEMPLATE']}-gpu`);
    assert.equal(
      podSpecOf(coordinator) &&
        (coordinator['spec'] as { template: { spec: { serviceAccountName: string } } }).template.spec
          .serviceAccountName,
      v.objects.find((o) => o.kind === 'RoleBinding')?.['subjects'] &&
        (v.objects.find((o) => o.kind === 'RoleBinding')?.['subjects'] as { name: string }[])[0]?.name,
    );
  }
});

test('every variant ships the TrainingJob CRD and the Role rules of its operator', () => {
  for (const v of variants) {
    const crd = v.objects.find((o) => o.kind === 'CustomResourceDefinition');
    assert.equal(crd?.metadata.name, 'trainingjobs.distrain.io', v.name);
    const role = v.objects.find((o) => o.kind === 'Role');
    const rules = (role?.['rules'] ?? []) as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const granted = rules
      .filter((r) => r.apiGroups.includes('distrain.io'))
      .flatMap((r) => r.resources.flatMap((res) => r.verbs.map((verb) => `${res}:${verb}`)))
      .sort();
    assert.deepEqual(
      granted,
      ['trainingjobs/status:patch', 'trainingjobs:list', 'trainingjobs:patch', 'trainingjobs:watch'],
      v.name,
    );
    const coordinator = v.objects.find(
      (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'coordinator',
    );
    const env = coordinator ? (podSpecOf(coordinator)?.containers[0]?.env ?? []) : [];
    assert.equal(env.find((e) => e.name === 'DISTRAIN_WATCH_CRDS')?.value, 'true', `${v.name}: operator on`);
  }
});

test('security: every service takes the token from the distrain-auth Secret; the TLS variant mounts its Secret and limits ingress', () => {
  for (const v of variants) {
    const services = v.objects.filter((o) =>
      DISTRAIN_COMPONENTS.has(o.metadata.labels?.['app.kubernetes.io/component'] ?? ''),
    );
    for (const o of services.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) {
      const c = podSpecOf(o)?.containers[0];
      const where = `${v.name}: ${o.kind}/${o.metadata.name}`;
      const env = (c?.env ?? []) as {
        name: string;
        valueFrom?: { secretKeyRef?: { name: string; key: string } };
      }[];
      assert.deepEqual(
        env.find((e) => e.name === 'DISTRAIN_AUTH_TOKEN')?.valueFrom?.secretKeyRef,
        { name: 'distrain-auth', key: 'token' },
        `${where}: DISTRAIN_AUTH_TOKEN from the distrain-auth Secret`,
      );
      assert.equal(
        env.some((e) => e.name === 'DISTRAIN_TLS_CERT'),
        v.tls === true,
        `${where}: TLS env`,
      );
    }
    if (!v.tls) continue;
    assert.ok(
      v.objects.some((o) => o.kind === 'Secret' && o.metadata.name === 'distrain-auth'),
      `${v.name}: auth Secret`,
    );
    const policies = v.objects.filter((o) => o.kind === 'NetworkPolicy');
    assert.equal(policies.length, 3, `${v.name}: one NetworkPolicy per service`);
  }
});

test('the chart and the kustomize base ship the same objects', () => {
  const names = (v: Variant | undefined): string[] =>
    (v?.objects ?? [])
      .filter((o) => !o.metadata.annotations?.['helm.sh/hook'])
      .map((o) => `${o.kind}/${o.metadata.name}`)
      .sort();
  assert.deepEqual(
    names(variants.find((v) => v.name === 'helm default values')),
    names(variants.find((v) => v.name === 'kustomize overlays/cpu')),
  );
});

test('chart: values validate against values.schema.json, every value is commented, NOTES and the test hook render', () => {
  const chart = join(ROOT, 'charts/distrain');
  const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8')) as object;
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  const defaults = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  const merge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...a };
    for (const [k, val] of Object.entries(b)) {
      const cur = out[k];
      out[k] =
        val &&
        typeof val === 'object' &&
        !Array.isArray(val) &&
        cur &&
        typeof cur === 'object' &&
        !Array.isArray(cur)
          ? merge(cur as Record<string, unknown>, val as Record<string, unknown>)
          : val;
    }
    return out;
  };
  for (const values of [
    defaults,
    ...chartCiValues().map((f) => merge(defaults, parse(readFileSync(f, 'utf8')) as Record<string, unknown>)),
  ]) {
    assert.ok(validate(values), JSON.stringify(validate.errors));
  }
  assert.equal(validate(merge(defaults, { image: { tag: 'latest' } })), false, 'latest is rejected');
  assert.equal(
    validate(
      merge(defaults, {
        containerSecurityContext: { readOnlyRootFilesystem: false, allowPrivilegeEscalation: false },
      }),
    ),
    false,
  );

  // Every value has a `# --` comment right above it, or sits inside a commented object value
  // (e.g. `resources`); plain grouping keys need none.
  const lines = readFileSync(join(chart, 'values.yaml'), 'utf8').split('\n');
  const commented: { indent: number; documented: boolean }[] = [];
  lines.forEach((line, i) => {
    const m = /^(\s*)([\w.-]+):(.*)$/.exec(line);
    if (!m) return;
    const indent = m[1]?.length ?? 0;
    while (commented.length > 0 && (commented.at(-1)?.indent ?? 0) >= indent) commented.pop();
    const documented = /^\s*# -- /.test(lines[i - 1] ?? '') || commented.some((c) => c.documented);
    const next = lines.slice(i + 1).find((l) => l.trim() !== '' && !l.trim().startsWith('#')) ?? '';
    const isGroup = m[3]?.trim() === '' && (next.match(/^\s*/)?.[0].length ?? 0) > indent;
    commented.push({ indent, documented });
    if (!isGroup)
      assert.ok(documented, `values.yaml line ${i + 1} (${m[2]}) is documented by a "# --" comment`);
  });

  const bin = buildHelmRenderer();
  const notes = execFileSync(bin, ['--chart', chart, '--release', 'rel', '--namespace', 'ml', '--notes'], {
    encoding: 'utf8',
  });
  assert.match(notes, /kubectl -n ml port-forward svc\/rel-distrain-coordinator 7070:7070/);
  const objects = helmTemplate(bin, { release: 'rel', namespace: 'ml' });
  const hook = objects.find((o) => o.kind === 'Pod' && o.metadata.annotations?.['helm.sh/hook'] === 'test');
  assert.ok(hook, 'a helm test pod');
  const c = podSpecOf(hook)?.containers[0] as Container & { command: string[] };
  assert.deepEqual(c.command.slice(0, 3), ['node', 'packages/cli/bin/distrain.js', 'submit']);
  assert.ok(c.command.includes('--watch'));
  assert.equal(c.env?.find((e) => e.name === 'DISTRAIN_COORDINATOR')?.value, 'rel-distrain-coordinator:7070');
  const jobSpec = parse(
    (
      objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'rel-distrain-test-job')?.[
        'data'
      ] as Record<string, string>
    )['job.yaml'] ?? '',
  ) as { kind: string };
  assert.equal(jobSpec.kind, 'TrainingJob');
  // A release name containing the chart name is not repeated.
  assert.ok(
    helmTemplate(bin, { release: 'distrain-prod' }).some(
      (o) => o.metadata.name === 'distrain-prod-coordinator',
    ),
  );
});

test('chart: dashboards and alert rules ship when switched on and the files exist', () => {
  const bin = buildHelmRenderer();
  const on = helmTemplate(bin, { set: ['grafana.dashboards.enabled=true', 'prometheusRule.enabled=true'] });
  const off = helmTemplate(bin);
  assert.equal(
    off.filter((o) => o.kind === 'PrometheusRule' || o.metadata.name.endsWith('-dashboards')).length,
    0,
    'off by default',
  );
  const dashboards = execFileSync(
    'sh',
    ['-c', `ls ${join(ROOT, 'charts/distrain/files/dashboards')}/*.json 2>/dev/null || true`],
    { encoding: 'utf8' },
  ).trim();
  if (dashboards !== '') {
    const cm = on.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-dashboards'));
    assert.equal(cm?.metadata.labels?.['grafana_dashboard'], '1');
    for (const [k, json] of Object.entries(cm?.['data'] as Record<string, string>))
      assert.doesNotThrow(() => JSON.parse(json), k);
  }
  const rules = execFileSync(
    'sh',
    ['-c', `ls ${join(ROOT, 'charts/distrain/files/rules')}/*.yaml 2>/dev/null || true`],
    { encoding: 'utf8' },
  ).trim();
  if (rules !== '') {
    const rule = on.find((o) => o.kind === 'PrometheusRule');
    assert.ok(((rule?.['spec'] as { groups: unknown[] }).groups ?? []).length > 0, 'rule groups');
  }
});

test('Dockerfiles are multi-stage, pinned and run as non-root (they cannot be built here: no Docker engine)', () => {
  for (const [file, nativePackage] of [
    ['docker/Dockerfile', '@tensorflow/tfjs-node@'],
    ['docker/Dockerfile.gpu', 'npm ci --omit=dev --no-audit'],
  ] as const) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1] ?? '');
    assert.ok(froms.length >= 2, `${file}: multi-stage`);
    const args = Object.fromEntries([...text.matchAll(/^ARG\s+(\w+)=(\S+)/gm)].map((m) => [m[1], m[2]]));
    for (const from of froms) {
      const image = from.replace(/^\$\{(\w+)\}$/, (_, name: string) => args[name] ?? from);
      if (/^(deps|node)$/.test(image)) continue;
      assert.match(image, /^[\w./-]+:[\w.-]+$/, `${file}: base ${image} has a tag`);
      assert.doesNotMatch(image, /:latest$/, `${file}: base ${image} is pinned`);
    }
    assert.match(text, /^USER\s+1000(:1000)?\s*$/m, `${file}: non-root USER matching runAsUser`);
    assert.ok(
      text.split('\n').includes(`ENV GLIBC_TUNABLES=${MALLOC_TUNABLES}`),
      `${file}: ENV GLIBC_TUNABLES=${MALLOC_TUNABLES} (role-entry.ts)`,
    );
    assert.ok(text.includes(nativePackage), `${file}: native TensorFlow package`);
  }
  assert.match(readFileSync(join(ROOT, 'docker/Dockerfile.gpu'), 'utf8'), /FROM \$\{CUDA_IMAGE\}/);
  assert.ok(
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).optionalDependencies[
      '@tensorflow/tfjs-node-gpu'
    ],
    'the GPU image installs the optional tfjs-node-gpu',
  );
});
