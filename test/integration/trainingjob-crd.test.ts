/**
 * The TrainingJob CRD as shipped: valid against the official apiextensions.k8s.io/v1 schema
 * (kubernetes-models), structural (the API server's rules for v1 CRDs), the printer columns and
 * the status subresource, generated from the JSON Schema without drift, and every example accepted
 * while bad specs are rejected by its schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { parse } from 'yaml';
import { ROOT } from '../support/cli.ts';

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema };
interface Crd {
  spec: {
    group: string;
    names: { kind: string; plural: string };
    versions: {
      name: string;
      subresources?: { status?: object };
      additionalPrinterColumns: { name: string; type: string; jsonPath: string }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

const text = readFileSync(join(ROOT, 'k8s/base/trainingjob-crd.yaml'), 'utf8');
const crd = parse(text) as Crd;
const version = crd.spec.versions[0]!;
const root = version.schema.openAPIV3Schema;

test('the CRD is valid against the official apiextensions.k8s.io/v1 schema; chart and kustomize ship the same', () => {
  new CustomResourceDefinition(crd as never).validate();
  assert.equal(readFileSync(join(ROOT, 'charts/distrain/crds/trainingjob-crd.yaml'), 'utf8'), text);
  execFileSync(process.execPath, [join(ROOT, 'scripts/crd-gen.mjs'), '--check'], { stdio: 'pipe' });
  assert.equal(crd.spec.group, 'distrain.io');
  assert.equal(crd.spec.names.kind, 'TrainingJob');
  assert.equal(version.name, 'v1');
});

test('the schema is structural (no $ref, const, oneOf; every field typed or preserved)', () => {
  const walk = (node: Schema, path: string): void => {
    for (const k of ['$ref', 'const', 'oneOf', 'anyOf', 'allOf', 'not', 'definitions', '$schema'])
      assert.ok(!(k in node), `${path}: ${k} is not allowed in a structural schema`);
    if (!node['x-kubernetes-preserve-unknown-fields'] || node['type'])
      assert.ok(typeof node['type'] === 'string', `${path}: needs a type`);
    for (const k of ['exclusiveMinimum', 'exclusiveMaximum'])
      if (k in node) assert.equal(typeof node[k], 'boolean', `${path}.${k}: OpenAPI v3 form`);
    if (node['properties'] && node['additionalProperties'] !== undefined)
      assert.fail(`${path}: properties and additionalProperties together`);
    for (const [k, child] of Object.entries(node.properties ?? {})) walk(child, `${path}.${k}`);
    if (node.items) walk(node.items, `${path}[]`);
  };
  walk(root, 'openAPIV3Schema');
  assert.deepEqual(
    root.properties?.['metadata'],
    { type: 'object' },
    'metadata: no restrictions beyond name',
  );
});

test('status subresource and printer columns: state, epoch, accuracy, age', () => {
  assert.deepEqual(version.subresources, { status: {} });
  assert.deepEqual(
    version.additionalPrinterColumns.map((c) => [c.name, c.type, c.jsonPath]),
    [
      ['State', 'string', '.status.state'],
      ['Epoch', 'integer', '.status.epoch'],
      ['Accuracy', 'number', '.status.accuracy'],
      ['Age', 'date', '.metadata.creationTimestamp'],
    ],
  );
  const status = root.properties?.['status']?.properties ?? {};
  for (const f of ['state', 'epoch', 'accuracy', 'jobId', 'epochs', 'conditions', 'reason'])
    assert.ok(status[f], `status.${f}`);
});

/** The OpenAPI schema as draft-07 for ajv (boolean exclusive bounds back to numbers). */
function toDraft07(node: Schema): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-kubernetes-') || k === 'format') continue;
    if (k === 'properties')
      out[k] = Object.fromEntries(
        Object.entries(v as Record<string, Schema>).map(([p, s]) => [p, toDraft07(s)]),
      );
    else if (k === 'items') out[k] = toDraft07(v as Schema);
    else if (k === 'exclusiveMinimum' || k === 'exclusiveMaximum') continue;
    else out[k] = v;
  }
  if (node['exclusiveMinimum'] === true) {
    out['exclusiveMinimum'] = node['minimum'];
    delete out['minimum'];
  }
  if (node['exclusiveMaximum'] === true) {
    out['exclusiveMaximum'] = node['maximum'];
    delete out['maximum'];
  }
  return out;
}

test('every example is accepted by the CRD schema; bad specs are rejected by it', () => {
  const validate = new Ajv({ allErrors: true, strict: false }).compile(toDraft07(root));
  const examples = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.yaml'));
  assert.ok(examples.length >= 3);
  for (const f of examples) {
    const doc = parse(readFileSync(join(ROOT, 'examples', f), 'utf8')) as unknown;
    assert.ok(validate(doc), `${f}: ${JSON.stringify(validate.errors)}`);
  }
  const good = parse(readFileSync(join(ROOT, 'examples/mnist-mlp.yaml'), 'utf8')) as {
    spec: Record<string, unknown>;
  };
  for (const [field, value] of [
    ['loss', 'hinge'],
    ['epochs', 0],
    ['batchSize', 'big'],
    ['optimizer', { type: 'adam', learningRate: 0 }],
    ['model', { layers: [{ type: 'transformer' }] }],
  ] as const) {
    const bad = structuredClone(good);
    bad.spec[field] = value;
    assert.ok(!validate(bad), `spec.${field} = ${JSON.stringify(value)} must be rejected`);
  }
});
