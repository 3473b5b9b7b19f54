import { unary } from '../grpc-client.ts';
import type { Logger } from '../logger.ts';
import { workerClient } from '../proto.ts';
import type { JobProgress } from '../generated/distrain/v1/JobProgress.ts';
import { DEFAULT_COORDINATOR_LOSS_MS } from '../worker-config.ts';
import type { WorkerConfig } from '../worker-config.ts';

/** Options of {@link Heartbeat}. */
export interface HeartbeatOptions {
  /** @default 1000 */
  intervalMs?: number;
  /**
   * The worker gives up (and stops) when the coordinator is unreachable this long.
   * @default the config's `coordinatorLossMs`, else DEFAULT_COORDINATOR_LOSS_MS (15 s)
   */
  giveUpMs?: number;
}

/**
 * A worker's link to the coordinator: periodic heartbeats with progress, and the stop signal the
 * coordinator answers with when the job ended or this worker was evicted. Exposed as an AbortSignal
 * so every wait of the worker ends when it fires.
 */
export class Heartbeat {
  private readonly client;
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private progress: JobProgress = {};
  private lastOkMs = Date.now();
  private inFlight = false;
  backend = '';
  /** Port of this worker's `/metrics` endpoint, sent with every beat (0: none). */
  metricsPort = 0;
  stopReason = '';

  constructor(
    private readonly config: WorkerConfig,
    private readonly logger: Logger,
    private readonly options: HeartbeatOptions = {},
  ) {
    this.client = workerClient(config.coordinator);
  }

  /** Fires when the worker must stop. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  start(): void {
    this.timer = setInterval(() => void this.beat('running'), this.options.intervalMs ?? 1_000);
    this.timer.unref();
    void this.beat('running');
  }

  /** Updates the progress sent with the next beat. */
  update(progress: JobProgress): void {
    this.progress = progress;
  }

  /**
   * Sends one beat now; `done`/`failed`/`diverged` are final and are retried a few times
   * (`diverged`: the loss became non-finite, the coordinator fails the job with `message`).
   */
  async beat(status: 'running' | 'done' | 'failed' | 'diverged', message = ''): Promise<void> {
    if (status === 'running' && this.inFlight) return;
    this.inFlight = true;
    try {
      const res = await unary(
        this.client,
        this.client.heartbeat,
        {
          jobId: this.config.jobId,
          role: this.config.role,
          rank: this.config.rank,
          progress: this.progress,
          status,
          message,
          backend: this.backend,
          metricsPort: this.metricsPort,
        },
        { timeoutMs: 5_000, retries: status === 'running' ? 0 : 5 },
      );
      this.lastOkMs = Date.now();
      if (res.stop && !this.controller.signal.aborted) {
        this.stopReason = res.reason || 'stopped by the coordinator';
        this.logger.warn({ reason: this.stopReason }, 'coordinator asked to stop');
        this.controller.abort(new Error(this.stopReason));
      }
    } catch (err) {
      if (
        Date.now() - this.lastOkMs >
          (this.options.giveUpMs ?? this.config.coordinatorLossMs ?? DEFAULT_COORDINATOR_LOSS_MS) &&
        !this.controller.signal.aborted
      ) {
        this.stopReason = `coordinator unreachable for ${Math.round((Date.now() - this.lastOkMs) / 1000)} s`;
        this.logger.error({ err }, this.stopReason);
        this.controller.abort(new Error(this.stopReason));
      }
    } finally {
      this.inFlight = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.client.close();
  }
}
