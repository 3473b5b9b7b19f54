/**
 * The one retry policy: exponential backoff with full jitter (a uniformly random wait in
 * `[0, min(maxMs, baseMs * 2^attempt))`, so clients that failed together do not retry in lockstep),
 * a bounded number of retries, an abort signal, and a predicate for what is worth retrying. Each
 * attempt sets its own deadline (the attempt function gets its number).
 */

/** How a call is retried. */
export interface RetryPolicy {
  /** Retries after the first attempt. @default 0 */
  retries?: number;
  /** Backoff bound of the first retry; doubles per retry. @default 100 */
  baseMs?: number;
  /** Largest backoff bound. @default 5000 */
  maxMs?: number;
  /** Stops retrying (the last error is thrown) and cuts a wait short. */
  signal?: AbortSignal;
}

/** The wait before retry number `attempt` (0-based): full jitter under an exponential bound. */
export function backoffDelay(
  attempt: number,
  baseMs = 100,
  maxMs = 5_000,
  random: () => number = Math.random,
): number {
  const bound = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return random() * bound;
}

/**
 * Runs `attempt(n)` until it resolves, `retryable(err)` says no, the retries are spent or the signal
 * aborts; then throws the last error.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  retryable: (err: unknown) => boolean,
  policy: RetryPolicy = {},
): Promise<T> {
  const retries = policy.retries ?? 0;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (n >= retries || !retryable(err) || policy.signal?.aborted) throw err;
      await sleep(backoffDelay(n, policy.baseMs, policy.maxMs), policy.signal);
    }
  }
}

/** Resolves after `ms`, or early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
