import type { WorkerConfig } from '@distrain/core';

/** How a worker ended. */
export interface WorkerExit {
  /** Process exit code (or container exit code); null when killed by a signal. */
  code: number | null;
  /** Human-readable reason (signal, last error line, pod reason). */
  reason: string;
}

/** A launched trainer or evaluator. */
export interface WorkerHandle {
  /** Unique id (process id or pod name). */
  readonly id: string;
  /** Resolves once when the worker ends, whatever the reason. */
  readonly exited: Promise<WorkerExit>;
  /** Asks the worker to stop (SIGTERM / pod delete); resolves when it is gone. */
  stop(): Promise<void>;
}

/**
 * The seam between the coordinator and where workers run: local child processes now, Kubernetes Pods
 * later. A launcher only starts and stops; the coordinator decides restarts and job state.
 */
export interface Launcher {
  readonly kind: string;
  /**
   * Whether workers keep running when the coordinator process dies (pods: yes; local child
   * processes: no, they are linked to it). A restarted coordinator relaunches a re-adopted job's
   * workers at once when they do not. @default true
   */
  readonly workersOutliveCoordinator?: boolean;
  launch(config: WorkerConfig, attempt: number): Promise<WorkerHandle>;
  /** Stops every worker of a job (cancel, completion, failure). */
  stopJob(jobId: string): Promise<void>;
}
