/**
 * `@distrain/core/worker`: what trainers and the evaluator share: the coordinator heartbeat and the
 * worker session (backend, model runtime, parameter-server and data-loader clients), the batch
 * streams' reconnect options. Loads
 * TensorFlow.js through `../model`.
 */
export * from './heartbeat.ts';
export * from './session.ts';
export * from './loader-wait.ts';
