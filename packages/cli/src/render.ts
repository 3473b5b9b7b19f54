import cliProgress from 'cli-progress';
import type { EvaluationResult__Output, Job__Output, JobEvent__Output } from '@distrain/core';

/** The summary line `--json` ends with (a contract: scripts and tests read it). */
export interface RunSummary {
  jobId: string;
  state: string;
  reason?: string;
  epochs: {
    epoch: number;
    testAccuracy: number;
    testLoss: number;
    seconds: number;
    testMse?: number;
    testMae?: number;
  }[];
  finalTestAccuracy: number | null;
  /** Regression jobs (float targets): the last epoch's mean squared and absolute errors. */
  finalTestMse?: number | null;
  finalTestMae?: number | null;
  samplesPerSecond: number;
  trainers: number;
  backend: string;
}

/** Short state name: JOB_STATE_SUCCEEDED -> Succeeded. */
export function stateName(state: string): string {
  const s = state.replace(/^JOB_STATE_/, '').toLowerCase();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Builds the summary from the final job record. */
export function summarize(job: Job__Output): RunSummary {
  const epochs = job.epochs.map((e) => ({
    epoch: e.epoch,
    testAccuracy: round(e.testAccuracy, 4),
    testLoss: round(e.testLoss, 4),
    seconds: round(e.trainSeconds, 2),
    ...(e.regression ? { testMse: round(e.testLoss, 6), testMae: round(e.testMae, 6) } : {}),
  }));
  const regression = job.epochs.some((e) => e.regression);
  return {
    jobId: job.id,
    state: stateName(job.state),
    ...(job.reason ? { reason: job.reason } : {}),
    epochs,
    finalTestAccuracy: regression ? null : epochs.length > 0 ? (epochs.at(-1)?.testAccuracy ?? null) : null,
    ...(regression
      ? { finalTestMse: epochs.at(-1)?.testMse ?? null, finalTestMae: epochs.at(-1)?.testMae ?? null }
      : {}),
    samplesPerSecond: job.trainSeconds > 0 ? Math.round(job.trainSamples / job.trainSeconds) : 0,
    trainers: job.trainers,
    backend: job.backend,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** How often a non-terminal output (a log file, CI) gets a progress line. */
const PLAIN_PROGRESS_INTERVAL_MS = 5_000;

/**
 * Renders a job's events for people: on a terminal, a progress bar for the running epoch with the
 * loss and samples/s per trainer; elsewhere a progress line every few seconds; and a row of the
 * accuracy table as each epoch is evaluated.
 */
export class HumanRenderer {
  private bar: cliProgress.SingleBar | undefined;
  private barEpoch = 0;
  private readonly perRank = new Map<number, number>();
  private readonly tty: boolean;
  private tableStarted = false;
  private lastPlainMs = 0;
  private lastAccuracy: number | undefined;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(out.isTTY);
  }

  /** The connection to the coordinator dropped; the watch is reconnecting. */
  reconnecting(attempt: number, reason: string): void {
    this.stopBar();
    this.line(`coordinator unreachable (${reason}); reconnecting (attempt ${attempt})...`);
  }

  event(e: JobEvent__Output): void {
    switch (e.event) {
      case 'state':
        this.stopBar();
        this.line(
          `[${e.jobId}] ${stateName(e.state?.state ?? '')}${e.state?.reason ? `: ${e.state.reason}` : ''}`,
        );
        return;
      case 'step': {
        const p = e.step?.progress;
        if (!p) return;
        this.perRank.set(e.step?.rank ?? 0, p.samplesPerSecond);
        const total = [...this.perRank.values()].reduce((a, b) => a + b, 0);
        const perTrainer = [...this.perRank.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([r, v]) => `r${r} ${Math.round(v)}`)
          .join(' ');
        if (!this.tty) {
          const now = Date.now();
          if (now - this.lastPlainMs >= PLAIN_PROGRESS_INTERVAL_MS) {
            this.lastPlainMs = now;
            this.line(
              `epoch ${p.epoch} step ${p.stepInEpoch}/${p.stepsPerEpoch} | loss ${p.loss.toFixed(4)} | ${Math.round(total)} samples/s (${perTrainer})`,
            );
          }
          return;
        }
        if (p.epoch !== this.barEpoch) {
          this.stopBar(true);
          this.barEpoch = p.epoch;
          this.bar = new cliProgress.SingleBar(
            {
              format: `epoch {epoch} [{bar}] {value}/{total} steps | loss {loss} | {sps} samples/s ({ranks})`,
              stream: this.out,
              hideCursor: true,
              clearOnComplete: false,
            },
            cliProgress.Presets.shades_classic,
          );
          this.bar.start(p.stepsPerEpoch, 0, { epoch: p.epoch, loss: '-', sps: 0, ranks: '' });
        }
        this.bar?.update(p.stepInEpoch, {
          loss: p.loss.toFixed(4),
          sps: Math.round(total),
          ranks: perTrainer,
        });
        return;
      }
      case 'epoch': {
        this.stopBar(e.epoch?.epoch === this.barEpoch);
        const r = e.epoch as EvaluationResult__Output;
        if (!this.tableStarted) {
          this.tableStarted = true;
          this.line(r.regression ? REGRESSION_TABLE_HEADER : EPOCH_TABLE_HEADER);
        }
        this.line(formatEpochRow(r, this.lastAccuracy));
        this.lastAccuracy = r.testAccuracy;
        return;
      }
      case 'log':
        if (e.log && e.log.level !== 'info') this.line(`${e.log.level}: ${e.log.source}: ${e.log.message}`);
        return;
      default:
        return;
    }
  }

  summary(s: RunSummary): void {
    this.stopBar();
    const acc =
      s.finalTestMse !== undefined
        ? `test MSE ${s.finalTestMse?.toFixed(4) ?? 'n/a'}, MAE ${s.finalTestMae?.toFixed(4) ?? 'n/a'}`
        : `test accuracy ${s.finalTestAccuracy === null ? 'n/a' : `${(s.finalTestAccuracy * 100).toFixed(2)}%`}`;
    this.line(
      `${s.jobId}: ${s.state}${s.reason ? ` (${s.reason})` : ''} | final ${acc} | ${s.samplesPerSecond} samples/s | ${s.trainers} trainer(s) on ${s.backend}`,
    );
  }

  /** Ends the bar; `complete` first fills it (step events are throttled, the last may be missing). */
  private stopBar(complete = false): void {
    if (this.bar) {
      if (complete) this.bar.update(this.bar.getTotal());
      this.bar.stop();
      this.bar = undefined;
    }
  }

  private line(text: string): void {
    this.out.write(`${text}\n`);
  }
}

/** Header of the accuracy table {@link formatEpochRow} fills. */
export const EPOCH_TABLE_HEADER = 'epoch  test accuracy  change   test loss  train s  eval s';

/** Header of the table for regression jobs (float targets). */
export const REGRESSION_TABLE_HEADER = 'epoch       test MSE                 test MAE  train s  eval s';

/** One row of the accuracy table: `    2         91.69%  +1.94   0.2884      8.1     0.3`. */
export function formatEpochRow(r: EvaluationResult__Output, previousAccuracy?: number): string {
  if (r.regression) {
    return [
      String(r.epoch).padStart(5),
      `MSE ${r.testLoss.toFixed(4)}`.padStart(15),
      ''.padStart(7),
      `MAE ${r.testMae.toFixed(4)}`.padStart(11),
      r.trainSeconds.toFixed(1).padStart(8),
      r.evalSeconds.toFixed(1).padStart(7),
    ].join(' ');
  }
  const change =
    previousAccuracy === undefined
      ? ''
      : `${r.testAccuracy >= previousAccuracy ? '+' : ''}${((r.testAccuracy - previousAccuracy) * 100).toFixed(2)}`;
  return [
    String(r.epoch).padStart(5),
    `${(r.testAccuracy * 100).toFixed(2)}%`.padStart(15),
    change.padStart(7),
    r.testLoss.toFixed(4).padStart(11),
    r.trainSeconds.toFixed(1).padStart(8),
    r.evalSeconds.toFixed(1).padStart(7),
  ].join(' ');
}

/** `epoch 1: test accuracy 85.21%, loss 0.4123 (train 4.2 s, eval 0.8 s)` */
export function formatEpoch(r: EvaluationResult__Output): string {
  if (r.regression)
    return `epoch ${r.epoch}: test MSE ${r.testLoss.toFixed(4)}, MAE ${r.testMae.toFixed(4)} (train ${r.trainSeconds.toFixed(1)} s, eval ${r.evalSeconds.toFixed(1)} s)`;
  return `epoch ${r.epoch}: test accuracy ${(r.testAccuracy * 100).toFixed(2)}%, loss ${r.testLoss.toFixed(4)} (train ${r.trainSeconds.toFixed(1)} s, eval ${r.evalSeconds.toFixed(1)} s)`;
}

/** One JSON line per event for machines (`--json`). */
export function eventJson(e: JobEvent__Output): string {
  const base = { type: e.event, jobId: e.jobId, sequence: e.sequence, timeMs: e.timeMs };
  switch (e.event) {
    case 'state':
      return JSON.stringify({
        ...base,
        state: stateName(e.state?.state ?? ''),
        reason: e.state?.reason ?? '',
      });
    case 'step':
      return JSON.stringify({ ...base, rank: e.step?.rank, ...e.step?.progress });
    case 'epoch':
      return JSON.stringify({ ...base, ...e.epoch, confusion: undefined });
    default:
      return JSON.stringify({ ...base, ...e.log });
  }
}
