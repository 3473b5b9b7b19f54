/** The phases of a trainer's step, in the order they happen. */
export const STEP_PHASES = [
  'data',
  'compute',
  'encode',
  'transfer',
  'barrierWait',
  'apply',
  'decode',
  'setParams',
] as const;

export type StepPhase = (typeof STEP_PHASES)[number];

/** Milliseconds per phase of one step (or their medians). */
export type StepPhases = Record<StepPhase, number>;

/** The log message a trainer writes its breakdown under (the CLI and the bench look for it). */
export const STEP_BREAKDOWN_MSG = 'step breakdown (median ms)';

const LABELS: Record<StepPhase, string> = {
  data: 'data wait',
  compute: 'compute',
  encode: 'encode',
  transfer: 'send+receive',
  barrierWait: 'barrier wait',
  apply: 'aggregate+apply',
  decode: 'decode',
  setParams: 'set parameters',
};

/**
 * Mean milliseconds per phase, the mean step and `other`: the part of the mean step no phase covers
 * (the trainer's own work while it waits, e.g. preparing the next batch). Unlike medians, means add
 * up to the step, and samples/s follows the mean step.
 */
export type StepMeans = StepPhases & { step: number; other: number; steps: number };

/** Collects per-step phase times and answers their medians and means. */
export class StepBreakdown {
  private readonly values = new Map<StepPhase, number[]>(STEP_PHASES.map((p) => [p, []]));
  private total: number[] = [];

  /** Records one step (`totalMs`: the step's wall time). */
  add(phases: StepPhases, totalMs: number): void {
    for (const p of STEP_PHASES) (this.values.get(p) as number[]).push(phases[p]);
    this.total.push(totalMs);
  }

  /** Steps recorded. */
  get steps(): number {
    return this.total.length;
  }

  /** Median per phase plus `step` (median wall time) and `steps`, rounded to 0.01 ms. */
  medians(): StepPhases & { step: number; steps: number } {
    const out = { steps: this.total.length, step: round(median(this.total)) } as StepPhases & {
      step: number;
      steps: number;
    };
    for (const p of STEP_PHASES) out[p] = round(median(this.values.get(p) as number[]));
    return out;
  }

  /** Mean per phase, the mean step and what no phase covers ({@link StepMeans}), to 0.01 ms. */
  means(): StepMeans {
    const n = this.total.length;
    const mean = (xs: readonly number[]): number => (n === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / n);
    const step = mean(this.total);
    const out = { steps: n, step: round(step) } as StepMeans;
    let covered = 0;
    for (const p of STEP_PHASES) {
      const m = mean(this.values.get(p) as number[]);
      covered += m;
      out[p] = round(m);
    }
    out.other = round(Math.max(0, step - covered));
    return out;
  }

  /** Forgets every step. */
  reset(): void {
    for (const v of this.values.values()) v.length = 0;
    this.total = [];
  }
}

/** One line a person reads: `step 31.2 ms = data wait 0.1 | compute 12.0 | ...`. */
export function formatBreakdown(m: Partial<StepPhases> & { step?: number; steps?: number }): string {
  const parts = STEP_PHASES.map((p) => `${LABELS[p]} ${fmt(m[p])}`);
  return `step ${fmt(m.step)} ms (median of ${m.steps ?? '?'}) = ${parts.join(' | ')}`;
}

/**
 * The means as a sum a person reads: `mean step 19.96 ms (469 steps) = data wait 0.28 + compute
 * 14.35 + ... + other 0.14`.
 */
export function formatMeans(m: Partial<StepMeans>): string {
  const parts = STEP_PHASES.map((p) => `${LABELS[p]} ${fmt(m[p])}`);
  parts.push(`other ${fmt(m.other)}`);
  return `mean step ${fmt(m.step)} ms (${m.steps ?? '?'} steps) = ${parts.join(' + ')}`;
}

function fmt(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(2);
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A trainer's breakdown found in one of its JSON log lines. */
export interface LoggedBreakdown {
  rank: number;
  /** 1-based epoch, or 'all' for the whole run. */
  epoch: number | 'all';
  medians: Partial<StepPhases> & { step?: number; steps?: number };
  /** The means (the line's `mean` object), when the trainer logged them. */
  means?: Partial<StepMeans>;
  /**
   * Steps the trainer applied itself (a job's only trainer: its `aggregate+apply` is its own optimizer
   * step, and no round trip waits on the shards), when it logged the count.
   */
  ownSteps?: number;
}

/** The breakdown a trainer logged in `line` (a pino JSON line), or undefined for any other line. */
export function breakdownFromLogLine(line: string): LoggedBreakdown | undefined {
  if (!line.includes(STEP_BREAKDOWN_MSG)) return undefined;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (o.msg !== STEP_BREAKDOWN_MSG) return undefined;
  const medians: LoggedBreakdown['medians'] = {};
  for (const k of [...STEP_PHASES, 'step', 'steps'] as const) if (typeof o[k] === 'number') medians[k] = o[k];
  const out: LoggedBreakdown = {
    rank: Number(o.rank),
    epoch: o.epoch === 'all' ? 'all' : Number(o.epoch),
    medians,
  };
  const m = o.mean;
  if (typeof m === 'object' && m !== null) {
    const means: Partial<StepMeans> = {};
    for (const k of [...STEP_PHASES, 'step', 'steps', 'other'] as const) {
      const v = (m as Record<string, unknown>)[k];
      if (typeof v === 'number') means[k] = v;
    }
    out.means = means;
  }
  if (typeof o.ownSteps === 'number') out.ownSteps = o.ownSteps;
  return out;
}
