#!/usr/bin/env node
// Generates the TrainingJob CustomResourceDefinition from schemas/training-job.schema.json (the one
// source of truth) into k8s/base/trainingjob-crd.yaml and charts/distrain/crds/trainingjob-crd.yaml.
// JSON Schema draft-07 becomes a structural OpenAPI v3 schema: $refs inlined, const -> enum,
// numeric exclusive bounds -> boolean form; layers keep `type` checked and the rest preserved (the
// coordinator validates them with the full JSON Schema and reports errors in status).
// `--check` fails when the checked-in files differ from a fresh generation (CI drift check).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';

const root = new URL('..', import.meta.url).pathname;
const schema = JSON.parse(readFileSync(join(root, 'schemas/training-job.schema.json'), 'utf8'));
const OUTPUTS = ['k8s/base/trainingjob-crd.yaml', 'charts/distrain/crds/trainingjob-crd.yaml'];

/** Draft-07 node -> structural OpenAPI v3 node. */
function convert(node) {
  if (node.$ref) {
    const name = node.$ref.replace('#/definitions/', '');
    return convert({ ...schema.definitions[name], ...(node.description ? { description: node.description } : {}) });
  }
  const out = {};
  if (node.description) out.description = node.description;
  if (node.const !== undefined) {
    out.type = typeof node.const;
    out.enum = [node.const];
  }
  if (node.enum) {
    out.type = typeof node.enum[0];
    out.enum = node.enum;
  }
  if (node.oneOf && node.discriminator) {
    // A layer: the kind is checked here, its fields by the coordinator (InvalidSpec condition).
    const kinds = node.oneOf.map((r) => convert(r).properties.type.enum[0]);
    return {
      type: 'object',
      required: node.required,
      properties: { type: { type: 'string', enum: kinds } },
      'x-kubernetes-preserve-unknown-fields': true,
    };
  }
  if (node.type) out.type = node.type === 'integer' ? 'integer' : node.type;
  for (const k of ['minimum', 'maximum', 'minItems', 'maxItems', 'pattern', 'default', 'required'])
    if (node[k] !== undefined) out[k] = node[k];
  if (typeof node.exclusiveMinimum === 'number') {
    out.minimum = node.exclusiveMinimum;
    out.exclusiveMinimum = true;
  }
  if (typeof node.exclusiveMaximum === 'number') {
    out.maximum = node.exclusiveMaximum;
    out.exclusiveMaximum = true;
  }
  if (node.properties)
    out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, convert(v)]));
  if (node.items) out.items = convert(node.items);
  if (!out.type && out.properties) out.type = 'object';
  return out;
}

const spec = convert(schema.properties.spec);
const status = {
  type: 'object',
  description: 'Written by the coordinator (operator); read with kubectl get/describe trainingjob.',
  properties: {
    jobId: { type: 'string', description: 'The job id in the coordinator (distrain get/watch JOB_ID).' },
    state: { type: 'string', enum: ['Pending', 'Running', 'Succeeded', 'Failed', 'Cancelled'] },
    reason: { type: 'string', description: 'Why the job failed or was cancelled.' },
    epoch: { type: 'integer', description: 'Epochs completed and evaluated.' },
    accuracy: { type: 'number', description: 'Test accuracy after the last completed epoch.' },
    observedGeneration: { type: 'integer' },
    startTime: { type: 'string', format: 'date-time' },
    completionTime: { type: 'string', format: 'date-time' },
    epochs: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          epoch: { type: 'integer' },
          testAccuracy: { type: 'number' },
          testLoss: { type: 'number' },
          trainSeconds: { type: 'number' },
        },
      },
    },
    conditions: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: {
        type: 'object',
        required: ['type', 'status'],
        properties: {
          type: { type: 'string', description: 'Created, Running, Succeeded, Failed or Cancelled.' },
          status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
          reason: { type: 'string' },
          message: { type: 'string' },
          lastTransitionTime: { type: 'string', format: 'date-time' },
        },
      },
    },
  },
};

const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: {
    name: 'trainingjobs.distrain.io',
    labels: { 'app.kubernetes.io/name': 'distrain', 'app.kubernetes.io/component': 'crd' },
  },
  spec: {
    group: 'distrain.io',
    names: {
      kind: 'TrainingJob',
      listKind: 'TrainingJobList',
      plural: 'trainingjobs',
      singular: 'trainingjob',
      shortNames: ['tj'],
      categories: ['distrain'],
    },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'State', type: 'string', jsonPath: '.status.state' },
          { name: 'Epoch', type: 'integer', jsonPath: '.status.epoch' },
          { name: 'Accuracy', type: 'number', jsonPath: '.status.accuracy' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            description: schema.description,
            type: 'object',
            required: ['spec'],
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec,
              status,
            },
          },
        },
      },
    ],
  },
};

const text =
  '# Generated by scripts/crd-gen.mjs from schemas/training-job.schema.json; do not edit (npm run crd:gen).\n' +
  stringify(crd, { lineWidth: 0 });
if (process.argv.includes('--check')) {
  const stale = OUTPUTS.filter((f) => {
    try {
      return readFileSync(join(root, f), 'utf8') !== text;
    } catch {
      return true;
    }
  });
  if (stale.length > 0) {
    console.error(`stale: ${stale.join(', ')}; run npm run crd:gen`);
    process.exit(1);
  }
} else {
  for (const f of OUTPUTS) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), text);
  }
}
