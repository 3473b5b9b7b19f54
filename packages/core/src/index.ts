/** @distrain/core: the one public door of the shared library. */
export * from './errors.ts';
export * from './logger.ts';
export * from './tensor-codec.ts';
export * from './proto.ts';
export * from './grpc-server.ts';
export * from './grpc-client.ts';
export * from './rng.ts';
export * from './batch-plan.ts';
export * from './job-spec.ts';
export * from './variables.ts';
export * from './datasets/index.ts';
export * from './model/index.ts';
export * from './ps/index.ts';
export * from './job-validate.ts';
export * from './worker-config.ts';
export type * from './wire.ts';
export * from './cli-args.ts';
export * from './heartbeat.ts';
