/** Per-call context: when the wait must end, and a signal for a cancelled call. */
export interface CallContext {
  /** Absolute deadline, ms since the epoch. */
  deadlineMs: number;
  signal?: AbortSignal;
}

/**
 * Registers a waiter that ends one way: resolved by whoever completes it, rejected with
 * `timeout()` at the call's deadline, or with `aborted()` when the call is cancelled. Whatever
 * ends it unregisters it (`remove`) and clears the timer and the abort listener.
 */
export function waitUntilDeadline<T, W extends { resolve(v: T): void; reject(err: Error): void }>(
  ctx: CallContext,
  make: (resolve: (v: T) => void, reject: (err: Error) => void) => W,
  add: (w: W) => void,
  remove: (w: W) => void,
  timeout: () => Error,
  aborted: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const waiter = make(resolve, reject);
    const cleanup = (): void => {
      clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onAbort);
      remove(waiter);
    };
    waiter.resolve = (v) => {
      cleanup();
      resolve(v);
    };
    waiter.reject = (err) => {
      cleanup();
      reject(err);
    };
    const timer = setTimeout(() => waiter.reject(timeout()), Math.max(0, ctx.deadlineMs - Date.now()));
    const onAbort = (): void => waiter.reject(aborted());
    if (ctx.signal?.aborted) {
      queueMicrotask(onAbort);
    } else {
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
    }
    add(waiter);
  });
}
