import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from './errors.ts';
import { LAYER_TYPES } from './job-spec.ts';
import type { BackendName, TrainingJob } from './job-spec.ts';

/** Path of the published JSON Schema (for editors: `# yaml-language-server: $schema=...`). */
export const TRAINING_JOB_SCHEMA_URL = new URL('../../../schemas/training-job.schema.json', import.meta.url);

let validator: ValidateFunction | undefined;

function compiled(): ValidateFunction {
  if (validator) return validator;
  const schema = JSON.parse(readFileSync(TRAINING_JOB_SCHEMA_URL, 'utf8')) as object;
  // verbose: errors carry the offending value (`e.data`), shown in range messages.
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    discriminator: true,
    strict: false,
    verbose: true,
  });
  validator = ajv.compile(schema);
  return validator;
}

/** Overrides a user may give on the command line (`--trainers`, `--epochs`, `--backend`, `--seed`). */
export interface JobOverrides {
  trainers?: number;
  epochs?: number;
  backend?: BackendName;
  seed?: number;
  name?: string;
}

/** Parses YAML or JSON text; a syntax error names the line. */
export function parseJobText(text: string, source = 'spec'): unknown {
  try {
    return parseYaml(text) as unknown; // YAML is a superset of JSON
  } catch (err) {
    throw new ValidationError(source, `is not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    });
  }
}

/**
 * Validates a TrainingJob document against the schema, applies overrides and defaults, and returns a
 * complete, frozen job. The first problem becomes a ValidationError naming its field path and the fix
 * (all problems are listed in the message). Dataset-dependent checks (output units vs classes) happen
 * in the coordinator once the dataset is described.
 */
export function validateJob(doc: unknown, overrides: JobOverrides = {}): TrainingJob {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ValidationError('spec', 'must be a TrainingJob object (apiVersion, kind, metadata, spec)');
  }
  const job = structuredClone(doc) as Record<string, unknown>;
  const spec = job['spec'];
  if (typeof spec === 'object' && spec !== null)
    applyOverrides(job, spec as Record<string, unknown>, overrides);
  const validate = compiled();
  if (!validate(job)) {
    const problems = describeErrors(validate.errors ?? []);
    const first = problems[0] ?? { field: 'spec', message: 'is invalid' };
    const rest =
      problems.length > 1
        ? ` (and ${problems.length - 1} more: ${problems
            .slice(1)
            .map((p) => `${p.field}: ${p.message}`)
            .join('; ')})`
        : '';
    throw new ValidationError(first.field, first.message + rest);
  }
  checkSyncBatchNorm(job as unknown as TrainingJob);
  return deepFreeze(job as unknown as TrainingJob);
}

/**
 * Synchronized batch norm normalizes each step's whole global batch; accumulating micro-batches on
 * several trainers would need per-micro-batch statistics of a global micro-batch that one trainer
 * does not compute, so the combination is refused.
 */
function checkSyncBatchNorm(job: TrainingJob): void {
  const { spec } = job;
  const bn = spec.model.layers.some((l) => l.type === 'batchNormalization');
  const accumulate = spec.trainers.accumulateSteps ?? 1;
  if (bn && spec.trainers.replicas > 1 && accumulate > 1) {
    throw new ValidationError(
      'spec.trainers.accumulateSteps',
      `must be 1 for a model with batchNormalization layers and ${spec.trainers.replicas} trainers (synchronized batch norm normalizes each step's whole global batch); got ${accumulate}: raise batchSize instead, or use one trainer`,
    );
  }
}

function applyOverrides(job: Record<string, unknown>, spec: Record<string, unknown>, o: JobOverrides): void {
  const trainers = (spec['trainers'] ??= {}) as Record<string, unknown>;
  if (o.trainers !== undefined) trainers['replicas'] = o.trainers;
  if (o.backend !== undefined) trainers['backend'] = o.backend;
  if (o.epochs !== undefined) spec['epochs'] = o.epochs;
  if (o.seed !== undefined) spec['seed'] = o.seed;
  if (o.name !== undefined) ((job['metadata'] ??= {}) as Record<string, unknown>)['name'] = o.name;
}

interface Problem {
  field: string;
  message: string;
}

/** Turns ajv errors into field paths (`spec.model.layers[2].units`) and messages that say the fix. */
function describeErrors(errors: ErrorObject[]): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  // Errors under a oneOf branch repeat for every branch; discriminator errors say it better.
  for (const e of errors) {
    if (e.keyword === 'oneOf' || e.keyword === 'if') continue;
    const field = toFieldPath(
      e.instancePath,
      e.keyword === 'required' ? String(e.params['missingProperty']) : undefined,
    );
    let message: string;
    switch (e.keyword) {
      case 'required':
        message = 'is required';
        break;
      case 'additionalProperties':
        message = `has unknown field '${String(e.params['additionalProperty'])}'; remove it or check its spelling`;
        break;
      case 'enum':
        message = `must be one of ${(e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'const':
        message = `must be ${JSON.stringify(e.params['allowedValue'])}`;
        break;
      case 'discriminator':
        message =
          e.params['error'] === 'mapping'
            ? `unknown layer type ${JSON.stringify(e.params['tagValue'])}; use one of ${LAYER_TYPES.join(', ')}`
            : `needs a "type": one of ${LAYER_TYPES.join(', ')}`;
        break;
      case 'exclusiveMinimum':
      case 'minimum':
      case 'maximum':
      case 'exclusiveMaximum':
        message = `${e.message ?? 'is out of range'}; got ${JSON.stringify(e.data)}`;
        break;
      default:
        message = e.message ?? 'is invalid';
    }
    const key = `${field}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ field: e.keyword === 'discriminator' ? `${field}.type` : field, message });
  }
  return problems;
}

function toFieldPath(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').filter((p) => p !== '');
  if (child !== undefined) parts.push(child);
  let path = '';
  for (const p of parts) path += /^\d+$/.test(p) ? `[${p}]` : path === '' ? p : `.${p}`;
  return path === '' ? 'spec' : path;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
