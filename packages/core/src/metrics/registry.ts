import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * prom-client's default metrics include three gauges named `*_total`, which `promtool check metrics`
 * rejects (only counters may end in `_total`); the same numbers are exported per type as
 * `nodejs_active_handles`, `nodejs_active_requests` and `nodejs_active_resources`.
 */
const NON_COUNTER_TOTALS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * A fresh registry for one role, with the default process and Node.js metrics
 * (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `nodejs_eventloop_lag_seconds`, ...).
 * Each role's main.ts makes one and hands it to that role's metrics module.
 */
export function createRoleRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of NON_COUNTER_TOTALS) registry.removeSingleMetric(name);
  return registry;
}
