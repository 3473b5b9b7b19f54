/**
 * `distrain run` of the example for the training benchmarks, in this process the way the CLI does
 * it (`startLocalStack`, `submit`, wait for the end, `summarize`), so the bench knows the
 * parameter-server shards and can watch the training at step granularity: it pulls the current
 * parameters from the shards (1 MB each for the MLP) and keeps one snapshot each time the version
 * passes a multiple of `evalEvery`, with the wall time since the first applied step. Pulls are timed
 * for the next multiple from the step rate the last two pulls show (one or two pulls a snapshot, not
 * one every 100 ms: each pull costs the shard and this process CPU that the training shares, and
 * the in-process loop it is compared with has no such load).
 * After the job ends (so evaluation takes no CPU from the training) it evaluates the snapshots in
 * order on the test split and reports the time and step of the first one at or above the target.
 */
import { clientOptions, parseJobText, sleep, validateJob } from '@distrain/core';
import { loadDataset } from '@distrain/core/datasets';
import { ParameterClient } from '@distrain/core/ps';
import { ModelRuntime, describeModel, evaluateSplit, selectBackend } from '@distrain/core/model';
import type { BackendName, Job__Output, ParamMap } from '@distrain/core';
import { startLocalStack } from '../packages/cli/src/local-stack.ts';
import { connect } from '../packages/cli/src/commands.ts';
import { summarize } from '../packages/cli/src/render.ts';
import { readFileSync } from 'node:fs';
import { breakdownFromLogLine } from '@distrain/core/metrics';
import type { LoggedBreakdown } from '@distrain/core/metrics';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const SPEC = 'examples/fashion-mnist-mlp.yaml';
export const TARGET = 0.85;
const TERMINAL = new Set(['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED']);

/** One measured training run. */
export interface Run {
  /**
   * Each trainer's step breakdown over the run (ms), by rank: medians, and means that add up to the
   * mean step; distrain runs only.
   */
  breakdown?: Map<number, Pick<LoggedBreakdown, 'medians' | 'means'>>;
  samplesPerSecond: number;
  /** Seconds of training until the first evaluation at or above the target, or null if never. */
  timeToTarget: number | null;
  /** Steps done at that evaluation. */
  stepsToTarget: number | null;
  /** Median steps between two evaluations (the granularity of timeToTarget). */
  evalEverySteps: number;
  accuracy: number;
  backend: string;
  /** Training seconds of each epoch (distrain: as the job reports them; the first from its first step). */
  epochSeconds?: number[];
}

/** Options of {@link distrainRun}. */
export interface DistrainRunOptions {
  trainers: number;
  epochs: number;
  backend: BackendName;
  /** Keep a snapshot each time the version passes a multiple of this. @default 50 */
  evalEvery?: number;
  /** Least gap between two pulls once training runs. @default 20 */
  pollMs?: number;
}

interface Snapshot {
  version: number;
  seconds: number;
  params: ParamMap;
}

/** Runs the example through the whole system; see the file comment. */
export async function distrainRun(options: DistrainRunOptions): Promise<Run> {
  const evalEvery = options.evalEvery ?? 50;
  const job = validateJob(parseJobText(readFileSync(`${ROOT}${SPEC}`, 'utf8'), SPEC), {
    trainers: options.trainers,
    epochs: options.epochs,
    backend: options.backend,
  });
  const data = await loadDataset({ name: 'fashion-mnist' });
  const { variables } = describeModel(job.spec.model.layers, data.featureShape);
  const shards = job.spec.parameterServer.shards;
  // The trainers log their step breakdown at info level; keep each one's whole-run breakdown.
  const breakdown = new Map<number, LoggedBreakdown>();
  const stack = await startLocalStack({
    shards,
    logLevel: 'info',
    onLog: (_service, line) => {
      const b = breakdownFromLogLine(line.slice(Math.max(0, line.indexOf('{'))));
      if (b && b.epoch === 'all') breakdown.set(b.rank, b);
    },
  });
  const snapshots: Snapshot[] = [];
  let final: Job__Output;
  try {
    const client = connect(stack.coordinator, { token: stack.token });
    const submitted = await client.submit(JSON.stringify(job));
    const ps = new ParameterClient({
      jobId: submitted.id,
      shardAddresses: stack.ps.slice(0, shards),
      variables,
      channelOptions: clientOptions(),
      token: stack.token,
      retries: 0,
      timeoutMs: 10_000,
    });
    let done = false;
    const watcher = (async (): Promise<Job__Output> => {
      for (;;) {
        const j = await client.get(submitted.id, { timeoutMs: 10_000 });
        if (TERMINAL.has(j.state)) return j;
        await sleep(250);
      }
    })().finally(() => (done = true));
    let t0: number | undefined;
    let previous: { version: number; at: number } | undefined;
    let stepsPerMs = 0;
    const minGapMs = options.pollMs ?? 20;
    while (!done) {
      const at = performance.now();
      const pulled = await ps.pull().catch(() => undefined); // not initialised yet, or already ended
      let gapMs = minGapMs;
      if (pulled && pulled.version >= 1) {
        t0 ??= at; // the first applied step, seen within one poll (20 ms until then)
        const last = snapshots.at(-1)?.version ?? 0;
        if (Math.floor(pulled.version / evalEvery) > Math.floor(last / evalEvery))
          snapshots.push({ version: pulled.version, seconds: (at - t0) / 1000, params: pulled.params });
        if (previous !== undefined && pulled.version > previous.version)
          stepsPerMs = (pulled.version - previous.version) / (at - previous.at);
        previous = { version: pulled.version, at };
        // Sleep until the next multiple is due (at most 1 s, so the job's end is seen soon).
        const next = (Math.floor(pulled.version / evalEvery) + 1) * evalEvery;
        if (stepsPerMs > 0) gapMs = Math.min(1_000, Math.max(minGapMs, (next - pulled.version) / stepsPerMs));
      }
      await sleep(gapMs);
    }
    ps.close();
    final = await watcher;
    client.close();
  } finally {
    await stack.stop();
  }
  const summary = summarize(final);
  if (summary.state !== 'Succeeded')
    throw new Error(`distrain run ${summary.state}: ${summary.reason ?? ''}`);
  await selectBackend(options.backend); // the evaluation's; a no-op when the bench selected it already
  const hit = firstAtTarget(snapshots, job, data);
  const gaps = snapshots.slice(1).map((s, i) => s.version - (snapshots[i] as Snapshot).version);
  return {
    samplesPerSecond: summary.samplesPerSecond,
    timeToTarget: hit?.seconds ?? null,
    stepsToTarget: hit?.version ?? null,
    evalEverySteps: gaps.length > 0 ? (gaps.sort((a, b) => a - b)[gaps.length >> 1] as number) : evalEvery,
    accuracy: summary.finalTestAccuracy ?? 0,
    backend: summary.backend,
    breakdown,
    epochSeconds: summary.epochs.map((e) => e.seconds),
  };
}

function firstAtTarget(
  snapshots: readonly Snapshot[],
  job: ReturnType<typeof validateJob>,
  data: Awaited<ReturnType<typeof loadDataset>>,
): Snapshot | undefined {
  if (snapshots.length === 0) return undefined;
  const runtime = new ModelRuntime({
    layers: [...job.spec.model.layers],
    loss: job.spec.loss,
    inputShape: data.featureShape,
    numClasses: data.numClasses,
    featureScale: data.featureScale,
  });
  try {
    for (const s of snapshots) {
      runtime.setParameters(s.params);
      if (evaluateSplit(runtime, data.test, data.featureShape).accuracy >= TARGET) return s;
    }
    return undefined;
  } finally {
    runtime.dispose();
  }
}
