/**
 * `@distrain/core/service`: the one bootstrap every `main.ts` uses: flags and env with the same
 * names across roles, validated; the logger, metrics registry and `/metrics` server; the listening
 * line; SIGTERM handled the same way. No TensorFlow.js.
 */
export * from './bootstrap.ts';
