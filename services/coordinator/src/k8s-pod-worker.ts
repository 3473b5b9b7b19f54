import type { WorkerExit, WorkerHandle } from './launcher.ts';

/** One worker pod. */
export class PodWorker implements WorkerHandle {
  readonly exited: Promise<WorkerExit>;
  settled = false;
  /** Set by `stop()`: the pod's end is ours, not a failure to report. */
  stopping = false;
  private resolveExit!: (exit: WorkerExit) => void;
  private gone = false;
  private goneWaiters: (() => void)[] = [];

  constructor(
    readonly id: string,
    private readonly launcher: { deletePod(name: string): Promise<void> },
    private readonly stopTimeoutMs: number,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  /** Resolves `exited` once; a deletion also marks the pod gone. */
  settle(exit: WorkerExit): void {
    if (exit.reason.endsWith('was deleted') || exit.reason === 'job stopped') {
      this.gone = true;
      for (const w of this.goneWaiters.splice(0)) w();
    }
    if (this.settled) return;
    this.settled = true;
    this.resolveExit(exit);
  }

  /** Waits (bounded) until the informer reports the pod deleted. */
  waitGone(): Promise<void> {
    if (this.gone) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.stopTimeoutMs);
      timer.unref();
      this.goneWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.launcher.deletePod(this.id);
    await this.waitGone();
    this.settle({ code: null, reason: `pod ${this.id} was deleted` });
  }
}
