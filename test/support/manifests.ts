import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './cli.ts';
import type { KubeObject } from './k8s-api-double.ts';

/** Parses a multi-document YAML stream, dropping empty documents. */
export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');
}

/** `kubectl kustomize DIR` (relative to the repo root) as objects; throws when kubectl is missing. */
export function kustomize(dir: string): KubeObject[] {
  return parseObjects(
    execFileSync('kubectl', ['kustomize', join(ROOT, dir)], { encoding: 'utf8', maxBuffer: 32 << 20 }),
  );
}

const GO_ENV = {
  ...process.env,
  GO111MODULE: 'off',
  GOPATH: '/usr/share/gocode',
  GOFLAGS: '',
  GOCACHE: join(ROOT, 'node_modules/.cache/go-build'),
};
const RENDERER_DIR = join(ROOT, 'test/k8s/helm-render');

/** Builds the chart renderer (Go text/template + sprig, test/k8s/helm-render) once; throws when go is missing. */
export function buildHelmRenderer(): string {
  const bin = join(ROOT, 'node_modules/.cache/distrain-helm-render');
  mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true });
  execFileSync('go', ['build', '-o', bin, '.'], {
    cwd: RENDERER_DIR,
    env: GO_ENV,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return bin;
}

/** Renders charts/distrain with the default values plus `valuesFiles` (as `helm template --include-crds` would). */
export function helmTemplate(
  bin: string,
  options: { valuesFiles?: string[]; release?: string; namespace?: string; set?: string[] } = {},
): KubeObject[] {
  const args = [
    '--chart',
    join(ROOT, 'charts/distrain'),
    '--release',
    options.release ?? 'distrain',
    '--namespace',
    options.namespace ?? 'distrain',
  ];
  for (const f of options.valuesFiles ?? []) args.push('--values', f);
  for (const s of options.set ?? []) args.push('--set', s);
  // Plus crds/ as is, as `helm install` (and `helm template --include-crds`) do.
  const crdDir = join(ROOT, 'charts/distrain/crds');
  const crds = existsSync(crdDir)
    ? readdirSync(crdDir)
        .filter((f) => f.endsWith('.yaml'))
        .sort()
        .flatMap((f) => parseObjects(readFileSync(join(crdDir, f), 'utf8')))
    : [];
  return [...crds, ...parseObjects(execFileSync(bin, args, { encoding: 'utf8', maxBuffer: 32 << 20 }))];
}

/** The chart's `ci/*-values.yaml` files. */
export function chartCiValues(): string[] {
  const dir = join(ROOT, 'charts/distrain/ci');
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('-values.yaml'))
        .sort()
        .map((f) => join(dir, f))
    : [];
}
