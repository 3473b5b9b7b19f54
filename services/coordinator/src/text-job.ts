import { ValidationError } from '@distrain/core';
import { loadPretrained, toGloveText } from '@distrain/core/datasets';
import { initialValues } from '@distrain/core/ps';
import type {
  DatasetInfo,
  EmbeddingLayerSpec,
  LayerSpec,
  ParamMap,
  TrainingJob,
  VariableInfo,
} from '@distrain/core';

/** What the coordinator keeps of a text dataset for a job (never sent to workers: it can be large). */
export interface TextArtifacts {
  /** Index = token id; `<pad>` = 0, `<unk>` = 1. */
  vocabulary: string[];
  /** First characters of each test text, in dataset order. */
  testTexts: string[];
  /** Corpus statistics (JSON from the data-loader). */
  statsJson: string;
}

/**
 * Ties a job's model to its dataset's kind: a text dataset (int32 index sequences) needs an
 * embedding first, and the embedding's `inputDim` is the vocabulary size (filled in here; a value
 * the user gave must match); other datasets must not start with an embedding. Returns the job with
 * `inputDim` set (a copy) or the job itself.
 */
export function bindTextDataset(job: TrainingJob, dataset: DatasetInfo): TrainingJob {
  const layers = job.spec.model.layers;
  const first = layers[0];
  const text = dataset.featureDtype === 'int32';
  if (!text) {
    const i = layers.findIndex((l) => l.type === 'embedding');
    if (i >= 0)
      throw new ValidationError(
        `spec.model.layers[${i}].type`,
        `an embedding needs a text dataset of token indices, but ${job.spec.dataset.name} gives ${dataset.featureDtype} features`,
      );
    return job;
  }
  if (first?.type !== 'embedding')
    throw new ValidationError(
      'spec.model.layers[0].type',
      `${job.spec.dataset.name} gives token index sequences (batch, ${dataset.featureShape[0]}); start the model with an embedding layer, not ${first?.type ?? 'nothing'}`,
    );
  const vocab = dataset.vocabularySize ?? 0;
  if (first.inputDim !== undefined && first.inputDim !== vocab)
    throw new ValidationError(
      'spec.model.layers[0].inputDim',
      `is ${first.inputDim} but the dataset's vocabulary has ${vocab} entries; leave it out (it is filled in) or set ${vocab}`,
    );
  const bound: LayerSpec[] = [{ ...first, inputDim: vocab }, ...layers.slice(1)];
  return { ...job, spec: { ...job.spec, model: { ...job.spec.model, layers: bound } } };
}

/**
 * Initial values of a pretrained embedding: the seeded initializer's values, overwritten by the
 * vectors of known tokens, `<pad>` row zero. Empty when the model has no pretrained embedding.
 */
export function pretrainedValues(
  job: TrainingJob,
  variables: readonly VariableInfo[],
  vocabulary: readonly string[],
): { values: ParamMap; report?: { matched: number; unmatched: number; vectors: number } } {
  const first = job.spec.model.layers[0] as EmbeddingLayerSpec | undefined;
  const values: ParamMap = new Map();
  if (first?.type !== 'embedding' || first.pretrained === undefined) return { values };
  const index = variables.findIndex((v) => v.name.endsWith('/embeddings'));
  const variable = variables[index] as VariableInfo;
  const matrix = initialValues(variable, index, job.spec.seed);
  const report = loadPretrained(
    first.pretrained.path,
    first.pretrained.format ?? 'glove',
    vocabulary,
    first.outputDim,
    matrix,
    'spec.model.layers[0].pretrained',
  );
  values.set(variable.name, matrix);
  return { values, report };
}

/** CSV field quoting (RFC 4180). */
function csvField(s: string): string {
  return `"${s.replace(/"/g, '""').replace(/\r?\n/g, ' ')}"`;
}

/**
 * Adds a `text` column (the test text's first characters, by the row's dataset index) to a
 * predictions CSV `index,label,predicted,p0..`: rows stay in dataset order.
 */
export function withTextColumn(csv: Buffer, testTexts: readonly string[]): Buffer {
  const lines = csv.toString('utf8').split('\n');
  const out = lines.map((line, n) => {
    if (line === '') return line;
    if (n === 0) return `${line},text`;
    const index = Number(line.slice(0, line.indexOf(',')));
    return `${line},${csvField(testTexts[index] ?? '')}`;
  });
  return Buffer.from(out.join('\n'));
}

/** The export files of a text job: `vocab.json` and the embedding matrix as GloVe text. */
export function textExportFiles(
  job: TrainingJob,
  params: ParamMap,
  text: TextArtifacts,
): { name: string; data: Buffer }[] {
  const files = [{ name: 'vocab.json', data: Buffer.from(`${JSON.stringify(text.vocabulary)}\n`) }];
  const first = job.spec.model.layers[0];
  if (first?.type === 'embedding') {
    const matrix = params.get('l0_embedding/embeddings');
    if (matrix !== undefined)
      files.push({
        name: 'embeddings.glove.txt',
        data: Buffer.from(toGloveText(text.vocabulary, matrix, first.outputDim)),
      });
  }
  return files;
}
