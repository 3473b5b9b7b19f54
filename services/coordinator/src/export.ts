import type { DatasetInfo, ParamMap, TrainingJob } from '@distrain/core';
import type { ExportedModel } from '@distrain/core/model';
import { modelDoor } from './model-door.ts';

/**
 * The trained model in TensorFlow.js layers format, built from the spec with stock tfjs layers only,
 * so `tf.loadLayersModel` loads it without distrain.
 */
export async function exportLayersModel(
  job: TrainingJob,
  dataset: DatasetInfo,
  params: ParamMap,
): Promise<ExportedModel> {
  const { ModelRuntime, selectBackend } = await modelDoor();
  await selectBackend('auto');
  const runtime = new ModelRuntime({
    layers: job.spec.model.layers,
    loss: job.spec.loss,
    inputShape: dataset.featureShape,
    numClasses: dataset.numClasses,
    featureScale: dataset.featureScale,
  });
  try {
    // The model takes float inputs already multiplied by featureScale (pixels / 255): say so in model.json.
    return await runtime.exportModel(params, {
      distrain: {
        job: job.metadata.name,
        inputShape: dataset.featureShape,
        featureScale: dataset.featureScale,
        classNames: dataset.classNames,
        loss: job.spec.loss,
      },
    });
  } finally {
    runtime.dispose();
  }
}
