/**
 * Prometheus metrics: one module per role (each declares all of its role's metrics on an injected
 * registry), the registry with default process metrics, and the shared `/metrics` HTTP server. The
 * parameter server's metrics live beside it (`../ps/metrics.ts`). Imports no TensorFlow.js, so the
 * data-loader can import it by path.
 */
export * from './registry.ts';
export * from './server.ts';
export * from './trainer.ts';
export * from './evaluator.ts';
export * from './loader.ts';
export * from './coordinator.ts';
export * from './step-breakdown.ts';
