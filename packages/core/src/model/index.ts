/** Model area: spec -> tfjs model, variables, losses, the trainer/evaluator runtime, backends. */
export * from './backend.ts';
export * from './build-model.ts';
export * from './text-layers.ts';
export * from './variables.ts';
export * from './describe.ts';
export * from './validate.ts';
export * from './losses.ts';
export * from './model-runtime.ts';
export {
  InMemoryStatExchange,
  backwardSlot,
  combineMoments,
  forwardSlot,
  sumInOrder,
} from './sync-batch-norm.ts';
export type { StatExchange } from './sync-batch-norm.ts';
export { DropoutNoise, SeededDropout, dropoutMask } from './seeded-dropout.ts';
export type { NoiseKeys, SeededDropoutArgs } from './seeded-dropout.ts';
export * from './reference-loop.ts';
export { conv2dFilterGradient, conv2dInputGradient, registerWasmKernels } from './wasm-kernels.ts';
