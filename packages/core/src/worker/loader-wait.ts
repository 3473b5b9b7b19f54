import type { BatchStreamOptions } from '../datasets/batch-stream.ts';
import type { Logger } from '../logger.ts';
import { DEFAULT_LOADER_RETRY_BUDGET_MS } from '../worker-config.ts';
import type { WorkerConfig } from '../worker-config.ts';

/** Message of the warning a worker logs when its data-loader becomes unreachable (a job log event). */
export const LOADER_WAIT_MSG = 'waiting for the data-loader';

/**
 * The batch-stream options of a trainer or the evaluator: reconnect to the data-loader for up to the
 * config's `loaderRetryBudgetMs`, and say so in the worker's log when it becomes unreachable and when
 * it is back (warnings: the local launcher turns them into job `log` events; pods keep them in
 * `kubectl logs`).
 */
export function loaderStreamOptions(
  config: WorkerConfig,
  logger: Logger,
  signal: AbortSignal,
): BatchStreamOptions {
  const budgetMs = config.loaderRetryBudgetMs ?? DEFAULT_LOADER_RETRY_BUDGET_MS;
  return {
    signal,
    address: config.loader,
    retryBudgetMs: budgetMs,
    onOutage: ({ address, step, error }) =>
      logger.warn(
        { address, step, budgetMs, error: error instanceof Error ? error.message : String(error) },
        `${LOADER_WAIT_MSG}: data-loader at ${address} unreachable; reconnecting for up to ${Math.round(budgetMs / 1000)} s (resumes at step ${step})`,
      ),
    onRecovered: ({ address, step, waitedMs, reconnects }) =>
      logger.warn(
        { address, step, waitedMs, reconnects },
        `data-loader at ${address} is back after ${(waitedMs / 1000).toFixed(1)} s; resumed at step ${step}`,
      ),
  };
}
