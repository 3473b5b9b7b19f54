/** NATS: job events (subjects, versioned JSON payloads, the JetStream stream + key-value store) and the parameter-server checkpoint Object Store. */
export * from './job-events.ts';
export * from './nats-job-store.ts';
export * from './blob-store.ts';
export * from './nats-checkpoint-store.ts';
