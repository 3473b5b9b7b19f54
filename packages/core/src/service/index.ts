/**
 * `@distrain/core/service`: the one bootstrap every `main.ts` uses: flags and env with the same
 * names across roles, validated (security too: the deployment token and TLS); the logger, metrics
 * registry and `/metrics` server; the listening line; SIGTERM handled the same way. No TensorFlow.js.
 */
export * from './bootstrap.ts';
export * from './security-flags.ts';
export * from './heap-tuning.ts';
