/**
 * Observability acceptance: a real training job (the shipped mnist-mlp example, 8 epochs, 2 trainers)
 * on the embedded stack with a real nats-server and a real Prometheus scraping every service (the
 * coordinator, data-loader and parameter server statically, trainers and evaluator through the
 * coordinator's http_sd endpoint). Then: every Grafana panel query returns data, every exposition
 * passes `promtool check metrics`, and the NATS events arrive in order and match their schemas, live
 * and replayed from JetStream.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import { connect as natsConnect, StringCodec } from 'nats';
import type { NatsConnection } from 'nats';
import { jobClient, parseJobText, unary, validateJob } from '@distrain/core';
import { JOB_EVENTS_STREAM, JOB_EVENT_TYPES, jobSubjectFilter } from '@distrain/core/events';
import type { JobServiceClient } from '@distrain/core';
import type { JobEventPayload } from '@distrain/core/events';
import { startLocalStack } from '../../packages/cli/src/local-stack.ts';
import { TEST_TOKEN } from '../support/services.ts';
import type { LocalStack } from '../../packages/cli/src/local-stack.ts';
import { ROOT, runCli } from '../support/cli.ts';
import { startNatsServer } from '../support/nats.ts';
import type { NatsServer } from '../support/nats.ts';
import { startPrometheus } from '../support/prometheus.ts';
import type { PrometheusServer } from '../support/prometheus.ts';

// The workers must live well past Prometheus's discovery: http_sd is polled every second, but 2.42
// hands new targets to the scrapers at most every 5 s, and a worker's endpoint is up only once tfjs
// has loaded. Three epochs of the example (8,000 training samples each) took ~4 s of training on a
// quiet 2-core machine, too short to be scraped; eight take ~10 s there, longer on slower machines.
const EPOCHS = 8;
const EPOCH_NUMBERS = Array.from({ length: EPOCHS }, (_, i) => i + 1);
const sc = StringCodec();
const ajv = new Ajv({ allErrors: true, strict: true });
const schemas = new Map<string, ValidateFunction>(
  JOB_EVENT_TYPES.map((t) => [
    t,
    ajv.compile(
      JSON.parse(readFileSync(join(ROOT, `schemas/events/job-${t}.v1.schema.json`), 'utf8')) as object,
    ),
  ]),
);

let nats: NatsServer;
let stack: LocalStack;
let prom: PrometheusServer;
let nc: NatsConnection;
let client: JobServiceClient;
const live: { subject: string; payload: JobEventPayload }[] = [];
let jobId = '';
let startS = 0;
let endS = 0;
/** `promtool check metrics` results per scraped endpoint, taken while the job ran. */
const expositions: { name: string; ok: boolean; output: string; text: string }[] = [];

function promtool(text: string): { ok: boolean; output: string } {
  const res = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (res.error) throw new Error(`promtool is required (apt-get install prometheus): ${res.error.message}`);
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}` };
}

async function checkEndpoint(name: string, hostPort: string): Promise<void> {
  const text = await (await fetch(`http://${hostPort}/metrics`)).text();
  expositions.push({ name, text, ...promtool(text) });
}

before(async () => {
  nats = await startNatsServer();
  stack = await startLocalStack({ nats: nats.url, token: TEST_TOKEN });
  const m = stack.metricsPorts;
  prom = await startPrometheus([
    { name: 'distrain-coordinator', targets: [`127.0.0.1:${m.coordinator}`] },
    { name: 'distrain-data-loader', targets: [`127.0.0.1:${m.loader}`] },
    { name: 'distrain-parameter-server', targets: m.ps.map((p) => `127.0.0.1:${p}`) },
    { name: 'distrain-workers', httpSd: `http://127.0.0.1:${m.coordinator}/sd/workers` },
  ]);
  nc = await natsConnect({ servers: `127.0.0.1:${nats.port}` });
  const sub = nc.subscribe(jobSubjectFilter());
  void (async () => {
    for await (const msg of sub)
      live.push({ subject: msg.subject, payload: JSON.parse(sc.decode(msg.data)) as JobEventPayload });
  })();
  client = jobClient(stack.coordinator);
});

after(async () => {
  client?.close();
  await nc?.close();
  await prom?.stop();
  await stack?.stop();
  await nats?.stop();
});

test(
  'a real job runs with NATS; every service exposition passes promtool while it trains',
  { timeout: 240_000 },
  async () => {
    const job = validateJob(parseJobText(readFileSync(join(ROOT, 'examples/mnist-mlp.yaml'), 'utf8')), {
      epochs: EPOCHS,
    });
    // And Prometheus's scrape loop runs before the job starts (its first scrape comes ~5 s after start).
    for (let i = 0; !(await prom.targets()).some((t) => t.health === 'up'); i++) {
      assert.ok(i < 300, 'Prometheus scraped nothing within 30 s');
      await sleep(100);
    }
    startS = Date.now() / 1000;
    const submitted = await unary(
      client,
      client.submitJob,
      { spec: JSON.stringify(job) },
      { timeoutMs: 60_000 },
    );
    jobId = submitted.job?.id ?? '';
    assert.ok(jobId);
    // The watch runs as a user would, in its own process, while the job trains.
    const watching = runCli(['watch', jobId, '--json', '--coordinator', stack.coordinator], {
      timeoutMs: 200_000,
    });

    // Once the first epoch is evaluated every role is up: scrape each endpoint and lint it.
    while (!live.some((e) => e.payload.type === 'epoch')) {
      assert.ok(Date.now() / 1000 - startS < 150, 'no epoch event within 150 s');
      await sleep(200);
    }
    const m = stack.metricsPorts;
    await checkEndpoint('coordinator', `127.0.0.1:${m.coordinator}`);
    await checkEndpoint('data-loader', `127.0.0.1:${m.loader}`);
    for (const [i, p] of m.ps.entries()) await checkEndpoint(`parameter-server-${i}`, `127.0.0.1:${p}`);
    const workers = (await (await fetch(`http://127.0.0.1:${m.coordinator}/sd/workers`)).json()) as {
      targets: string[];
      labels: Record<string, string>;
    }[];
    const roles = workers
      .map((w) => `${w.labels['__meta_distrain_role']}-${w.labels['__meta_distrain_rank']}`)
      .sort();
    assert.deepEqual(
      roles,
      ['evaluator-0', 'trainer-0', 'trainer-1'],
      'the coordinator lists every worker for http_sd',
    );
    for (const w of workers)
      await checkEndpoint(
        `${w.labels['__meta_distrain_role']}-${w.labels['__meta_distrain_rank']}`,
        w.targets[0] as string,
      );

    const res = await watching;
    endS = Date.now() / 1000;
    assert.equal(res.code, 0, res.stderr.slice(-3000));
    const summary = res.json.at(-1) as { state: string; epochs: { epoch: number }[] };
    assert.equal(summary.state, 'Succeeded');
    assert.deepEqual(
      summary.epochs.map((e) => e.epoch),
      EPOCH_NUMBERS,
    );

    for (const e of expositions) {
      assert.ok(e.ok, `promtool check metrics rejects ${e.name}:\n${e.output}`);
      assert.match(e.text, /^process_cpu_seconds_total /m, `${e.name} exports the default process metrics`);
    }
    const names = (role: string): boolean => expositions.some((e) => e.name.startsWith(role));
    for (const role of ['coordinator', 'data-loader', 'parameter-server', 'trainer', 'evaluator'])
      assert.ok(names(role), `${role} scraped`);
  },
);

test('every Grafana dashboard panel query returns data from Prometheus', { timeout: 60_000 }, async () => {
  assert.ok(jobId, 'the job ran');
  // Let the last scrapes land (1 s interval).
  await sleep(3_000);
  // Every scrape job had healthy targets during the run (the workers' come and go with the job).
  for (const pool of [
    'distrain-coordinator',
    'distrain-data-loader',
    'distrain-parameter-server',
    'distrain-workers',
  ]) {
    const up = await prom.queryRange(`sum(up{job="${pool}"})`, Math.floor(startS), Math.ceil(endS), 1);
    const most = Math.max(0, ...up.flatMap((s) => s.values.map(([, v]) => Number(v))));
    assert.ok(most >= (pool === 'distrain-workers' ? 3 : 1), `${pool}: at most ${most} targets up`);
  }
  const dashboard = JSON.parse(
    readFileSync(join(ROOT, 'charts/distrain/files/dashboards/distrain.json'), 'utf8'),
  ) as {
    templating: { list: { name: string }[] };
    panels: { title: string; targets: { expr: string; refId: string }[] }[];
  };
  assert.ok(
    dashboard.templating.list.some((v) => v.name === 'job_id'),
    'job selector variable',
  );
  assert.ok(dashboard.panels.length >= 10);
  const empty: string[] = [];
  let checked = 0;
  for (const panel of dashboard.panels) {
    for (const t of panel.targets) {
      // What Grafana does: substitute the variables, then a range query over the dashboard's time.
      const expr = t.expr
        .replaceAll('$job_id', jobId)
        .replaceAll('${job_id}', jobId)
        .replaceAll('$__rate_interval', '4s')
        .replaceAll('$__interval', '1s');
      assert.doesNotMatch(expr, /\$/, `${panel.title}: unsubstituted variable in ${expr}`);
      const series = await prom.queryRange(expr, Math.floor(startS) - 5, Math.ceil(endS) + 3, 1);
      const finite = series.some((s) => s.values.some(([, v]) => Number.isFinite(Number(v))));
      checked++;
      if (!finite) empty.push(`${panel.title} [${t.refId}]: ${expr}`);
    }
  }
  assert.deepEqual(empty, [], `panels without data:\n${empty.join('\n')}`);
  assert.ok(checked >= 15, `${checked} panel queries checked`);
  // Jobs by state, at this instant: the finished job is counted.
  const byState = await prom.query('sum by (state) (distrain_coordinator_jobs)');
  assert.equal(byState.find((s) => s.metric['state'] === 'succeeded')?.value[1], '1');
});

function checkOrder(events: JobEventPayload[]): void {
  for (const p of events) {
    const validate = schemas.get(p.type);
    assert.ok(validate, `known type ${p.type}`);
    assert.ok(validate(p), `${p.type} #${p.sequence}: ${ajv.errorsText(validate.errors)}`);
    assert.equal(p.jobId, jobId);
  }
  const seqs = events.map((p) => p.sequence);
  for (let i = 1; i < seqs.length; i++)
    assert.ok((seqs[i] as number) > (seqs[i - 1] as number), `sequences increase: ${seqs.join(',')}`);
  const states = events.flatMap((p) => (p.type === 'state' ? [p.state] : []));
  assert.deepEqual(states, ['Pending', 'Running', 'Succeeded']);
  const firstStep = events.findIndex((p) => p.type === 'step');
  const running = events.findIndex((p) => p.type === 'state' && p.state === 'Running');
  const succeeded = events.findIndex((p) => p.type === 'state' && p.state === 'Succeeded');
  assert.ok(running < firstStep && firstStep < succeeded, 'steps come between Running and Succeeded');
  const epochs = events.flatMap((p) => (p.type === 'epoch' ? [p.epoch] : []));
  assert.deepEqual(epochs, EPOCH_NUMBERS, 'epoch events in order, once each');
  assert.ok(
    events.findLastIndex((p) => p.type === 'epoch') < succeeded,
    'every epoch event comes before Succeeded',
  );
  const lastStep = new Map<number, number>();
  for (const p of events) {
    if (p.type !== 'step') continue;
    assert.ok(p.globalStep >= (lastStep.get(p.rank) ?? 0), `rank ${p.rank} steps do not go back`);
    lastStep.set(p.rank, p.globalStep);
    assert.ok(p.loss !== null && p.loss > 0, `step #${p.sequence} loss ${p.loss}`);
  }
  assert.deepEqual([...lastStep.keys()].sort(), [0, 1], 'both trainers report steps');
}

test('NATS: state, step and epoch events arrive live in order, on their subjects, matching their schemas', () => {
  assert.ok(jobId);
  const mine = live.filter((e) => e.payload.jobId === jobId);
  for (const e of mine) assert.equal(e.subject, `distrain.job.${jobId}.${e.payload.type}`);
  checkOrder(mine.map((e) => e.payload));
});

test(
  'JetStream keeps the history: a late consumer replays the same events',
  { timeout: 30_000 },
  async () => {
    const js = nc.jetstream();
    const consumer = await js.consumers.get(JOB_EVENTS_STREAM, { filterSubjects: jobSubjectFilter(jobId) });
    const replayed: JobEventPayload[] = [];
    const info = await (await nc.jetstreamManager()).streams.info(JOB_EVENTS_STREAM);
    const messages = await consumer.consume();
    for await (const m of messages) {
      replayed.push(JSON.parse(m.string()) as JobEventPayload);
      if (m.info.pending === 0 || m.seq >= info.state.last_seq) break;
    }
    await messages.close();
    checkOrder(replayed);
    const liveSeqs = live.filter((e) => e.payload.jobId === jobId).map((e) => e.payload.sequence);
    assert.deepEqual(
      replayed.map((p) => p.sequence),
      liveSeqs,
    );
  },
);

test('the job record is in the JetStream key-value bucket', async () => {
  const kv = await nc.jetstream().views.kv('distrain-jobs');
  const entry = await kv.get(jobId);
  assert.ok(entry, 'record stored');
  const record = JSON.parse(entry.string()) as { state: string; epochs: unknown[] };
  assert.equal(record.state, 'JOB_STATE_SUCCEEDED');
  assert.equal(record.epochs.length, EPOCHS);
});
