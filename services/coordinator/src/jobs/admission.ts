import { randomBytes } from 'node:crypto';
import {
  DEFAULT_JOB_BUDGET,
  JobStates,
  OverloadError,
  UnavailableError,
  ValidationError,
  checkJobBudget,
  checkParameterBudget,
  isTerminal,
  stepsPerEpoch,
  validateJob,
} from '@distrain/core';
import type { JobBudget, TrainingJob } from '@distrain/core';
import { compileOptimizer } from '@distrain/core/ps';
import { modelDoor } from '../model-door.ts';
import type { DatasetCatalog, DescribedDataset } from '../ports.ts';
import { bindTextDataset, pretrainedValues } from '../text-job.ts';
import type { JobRecord } from './record.ts';

/** What {@link admitJob} needs. */
export interface AdmissionContext {
  catalog: DatasetCatalog;
  /** Jobs held now (the active ones count against the limit). */
  jobs: Iterable<JobRecord>;
  /** Most jobs not yet ended. */
  maxActiveJobs: number;
  nowMs: number;
  /** Resource budgets of one job. @default DEFAULT_JOB_BUDGET */
  budget?: Readonly<JobBudget>;
}

/**
 * Admission: validates a TrainingJob document, checks it against the active-job limit and its
 * dataset (the model's output against the classes, the batch against the training samples), and
 * returns the new job's record (Pending, no workers yet). Bad input is a ValidationError naming the
 * field; too many jobs an OverloadError.
 */
export async function admitJob(doc: unknown, ctx: AdmissionContext): Promise<JobRecord> {
  let job = validateJob(doc);
  const budget = ctx.budget ?? DEFAULT_JOB_BUDGET;
  // Budgets before anything is asked or built: layers, replicas, epochs, batch size.
  checkJobBudget(job, budget);
  const active = [...ctx.jobs].filter((j) => !isTerminal(j.state)).length;
  if (active >= ctx.maxActiveJobs) {
    throw new OverloadError(`${active} jobs are active (the limit); wait for one to end or cancel one`);
  }
  const { text, ...dataset } = await describeDataset(ctx.catalog, job);
  // A text dataset binds the embedding's inputDim to its vocabulary size.
  job = bindTextDataset(job, dataset);
  const inputShape = dataset.featureShape;
  // The parameter count from the shapes alone, before tfjs builds (and allocates) the model.
  checkParameterBudget(job.spec.model.layers, inputShape, budget);
  const { checkOutputMatchesClasses, describeModel } = await modelDoor();
  checkOutputMatchesClasses(job.spec.model.layers, inputShape, dataset.numClasses, job.spec.loss);
  if (job.spec.batchSize > dataset.trainCount) {
    throw new ValidationError(
      'spec.batchSize',
      `is ${job.spec.batchSize} but the dataset has only ${dataset.trainCount} training samples; use at most ${dataset.trainCount}`,
    );
  }
  const { variables } = describeModel(job.spec.model.layers, inputShape);
  const spe = stepsPerEpoch(dataset.trainCount, job.spec.batchSize);
  // Schedule defaults depend on the job's length: checked here, so a bad one is INVALID_ARGUMENT.
  compileOptimizer(job.spec.optimizer, 'spec.optimizer', {
    stepsPerEpoch: spe,
    totalSteps: spe * job.spec.epochs,
  });
  // Pretrained vectors: fails the submit (naming the field) on a missing file or a dimension mismatch.
  const initial = text === undefined ? undefined : pretrainedValues(job, variables, text.vocabulary).values;
  return {
    id: `${job.metadata.name}-${randomBytes(3).toString('hex')}`,
    job,
    state: JobStates.pending,
    reason: '',
    createdAtMs: ctx.nowMs,
    startedAtMs: 0,
    finishedAtMs: 0,
    dataset,
    variables,
    stepsPerEpoch: spe,
    backend: job.spec.trainers.backend,
    progress: {
      epoch: 0,
      stepInEpoch: 0,
      stepsPerEpoch: spe,
      globalStep: 0,
      totalSteps: spe * job.spec.epochs,
    },
    epochs: [],
    trainStartMs: 0,
    psShards: [],
    epochEndMs: [],
    workers: new Map(),
    abort: new AbortController(),
    ...(text === undefined ? {} : { text }),
    ...(initial === undefined || initial.size === 0 ? {} : { initialValues: initial }),
  };
}

async function describeDataset(catalog: DatasetCatalog, job: TrainingJob): Promise<DescribedDataset> {
  try {
    return await catalog.describe(job.spec.dataset);
  } catch (err) {
    if (err instanceof UnavailableError) throw err; // the loader is down: not the spec's fault
    const e = err as { details?: string; message: string };
    throw new ValidationError('spec.dataset', e.details ?? e.message, { cause: err });
  }
}
