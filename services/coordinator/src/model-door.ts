/**
 * The model area (`@distrain/core/model`, which loads TensorFlow.js) loaded on first use: the
 * coordinator starts without it and pays its cost (about 1 s, 90 MB) at the first submission or
 * restore that needs a model description or an export.
 */
import type * as ModelArea from '@distrain/core/model';

type ModelDoor = typeof ModelArea;

let loaded: ModelDoor | undefined;

/** Loads the model door once. */
export async function modelDoor(): Promise<ModelDoor> {
  loaded ??= await import('@distrain/core/model');
  return loaded;
}

/** The model door after {@link modelDoor} resolved once; throws if it has not. */
export function loadedModelDoor(): ModelDoor {
  if (!loaded) throw new Error('model door used before modelDoor() resolved');
  return loaded;
}
