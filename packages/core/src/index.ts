/**
 * `@distrain/core`: the light door every role loads. Errors and their gRPC status mapping, logging,
 * service flags, the gRPC client/server helpers and proto loader, the tensor codec, the wire types,
 * the TrainingJob (types, parsing, validation), the worker configuration, seeded randomness and the
 * batch plan. It loads no TensorFlow.js and no NATS client; the heavier areas have doors of their
 * own: `@distrain/core/datasets`, `/ps`, `/metrics`, `/events`, `/worker`, and `/model` (the only
 * one that loads TensorFlow.js). `npm run deps:check` enforces these rules.
 */
export * from './errors.ts';
export * from './limits.ts';
export * from './logger.ts';
export * from './tensor-codec.ts';
export * from './proto.ts';
export * from './auth/index.ts';
export * from './grpc-server.ts';
export * from './grpc-client.ts';
export * from './rng.ts';
export * from './batch-plan.ts';
export * from './job-spec.ts';
export * from './job-budget.ts';
export * from './job-state.ts';
export * from './variables.ts';
export * from './job-validate.ts';
export * from './worker-config.ts';
export type * from './wire.ts';
export * from './service-process.ts';
export * from './parent-link.ts';
export * from './role-entry.ts';
export * from './retry.ts';
export * from './grpc-handlers.ts';
export * from './protobuf-wire.ts';
