/** Job events on NATS: subjects, versioned JSON payloads, and the JetStream stream + key-value store. */
export * from './job-events.ts';
export * from './nats-job-store.ts';
export * from './blob-store.ts';
