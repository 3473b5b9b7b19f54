/**
 * Kill the coordinator (SIGKILL) during a job and start a new one on the same address with the same
 * NATS: the job records come back from the JetStream key-value bucket and the events from the
 * stream, so `distrain list` and `distrain watch` still show the job and its whole history; the
 * running job is re-adopted (its trainers keep heartbeating to the address) and finishes; a watch
 * that was open across the restart reconnects and sees every epoch once; jobs that cannot be resumed
 * fail with a reason instead of staying Running.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as natsConnect, StringCodec } from 'nats';
import type { NatsConnection } from 'nats';
import { jobClient, parseJobText, unary, validateJob } from '@distrain/core';
import type { Job__Output, JobServiceClient } from '@distrain/core';
import { ROOT, runCli } from '../support/cli.ts';
import type { CliResult } from '../support/cli.ts';
import { startNatsServer } from '../support/nats.ts';
import type { NatsServer } from '../support/nats.ts';
import { freePort } from '../support/prometheus.ts';
import { startService } from '../support/services.ts';
import type { ServiceProcess } from '../support/services.ts';

const EPOCHS = 4;
const sc = StringCodec();
let nats: NatsServer;
let loader: ServiceProcess;
let ps: ServiceProcess;
let coordinator: ServiceProcess;
let coordinatorArgs: string[] = [];
let address = '';
let client: JobServiceClient;
let nc: NatsConnection;

before(async () => {
  nats = await startNatsServer();
  [loader, ps] = await Promise.all([
    startService('data-loader', ['--port', '0']),
    startService('parameter-server', ['--port', '0', '--shard-index', '0']),
  ]);
  const port = await freePort();
  address = `127.0.0.1:${port}`;
  coordinatorArgs = [
    '--port',
    String(port),
    '--loader',
    `127.0.0.1:${loader.port}`,
    '--ps',
    `127.0.0.1:${ps.port}`,
    '--nats',
    nats.url,
    '--metrics-port',
    '0',
  ];
  coordinator = await startService('coordinator', coordinatorArgs);
  client = jobClient(address);
  nc = await natsConnect({ servers: `127.0.0.1:${nats.port}` });
});

after(async () => {
  client?.close();
  await nc?.close();
  await coordinator?.stop();
  await Promise.all([loader?.stop(), ps?.stop()]);
  await nats?.stop();
});

const getJob = async (id: string): Promise<Job__Output> =>
  (await unary(client, client.getJob, { id }, { timeoutMs: 10_000, retries: 5 })).job as Job__Output;

type Line = {
  type: string;
  sequence: number;
  state?: string;
  epoch?: number;
  message?: string;
  reason?: string;
};
const eventsOf = (res: CliResult): Line[] =>
  res.json.filter((j) => typeof j['type'] === 'string') as unknown as Line[];

function assertHistory(lines: Line[], label: string): void {
  const seqs = lines.map((l) => Number(l.sequence));
  for (let i = 1; i < seqs.length; i++)
    assert.ok(
      (seqs[i] as number) > (seqs[i - 1] as number),
      `${label}: sequences increase across the restart (${seqs.join(',')})`,
    );
  assert.deepEqual(
    lines.filter((l) => l.type === 'epoch').map((l) => l.epoch),
    [1, 2, 3, 4],
    `${label}: every epoch once, in order`,
  );
  const states = lines.filter((l) => l.type === 'state').map((l) => l.state);
  assert.equal(states[0], 'Pending', label);
  assert.equal(states.at(-1), 'Succeeded', label);
}

test(
  'kill -9 the coordinator mid-job, restart it: list and watch still show the job and its history',
  { timeout: 300_000 },
  async () => {
    const doc = parseJobText(readFileSync(join(ROOT, 'examples/mnist-mlp.yaml'), 'utf8')) as {
      spec: Record<string, unknown>;
    };
    // A short straggler timeout: a worker lost with the old coordinator is relaunched quickly.
    doc.spec['fault'] = { stragglerTimeoutMs: 8_000, maxRestarts: 3 };
    const job = validateJob(doc, { epochs: EPOCHS });
    const id =
      (await unary(client, client.submitJob, { spec: JSON.stringify(job) }, { timeoutMs: 60_000 })).job?.id ??
      '';
    assert.ok(id);
    // A user's watch, open across the restart.
    const watching = runCli(['watch', id, '--json', '--coordinator', address], { timeoutMs: 280_000 });
    for (let i = 0; (await getJob(id)).epochs.length < 1; i++) {
      assert.ok(i < 600, 'first epoch within 180 s');
      await sleep(300);
    }

    // Two records a dead coordinator could leave: one Running whose parameter-server state is gone,
    // one still Pending. Neither may stay Running/Pending after the restart.
    const kv = await nc.jetstream().views.kv('distrain-jobs');
    const real = JSON.parse((await kv.get(id))?.string() ?? '{}') as Record<string, unknown>;
    await kv.put(
      'ghost-running-000001',
      sc.encode(JSON.stringify({ ...real, id: 'ghost-running-000001', state: 'JOB_STATE_RUNNING' })),
    );
    await kv.put(
      'ghost-pending-000002',
      sc.encode(
        JSON.stringify({ ...real, id: 'ghost-pending-000002', state: 'JOB_STATE_PENDING', psShards: [] }),
      ),
    );

    await coordinator.stop('SIGKILL');
    const list = await runCli(['list', '--json', '--coordinator', address], { timeoutMs: 30_000 });
    assert.notEqual(list.code, 0, 'no coordinator: list fails');
    await sleep(1_000);
    coordinator = await startService('coordinator', coordinatorArgs);

    const after = await runCli(['list', '--json', '--coordinator', address], { timeoutMs: 30_000 });
    assert.equal(after.code, 0, after.stderr);
    const byId = new Map(after.json.map((j) => [j['id'] as string, j]));
    assert.ok(
      ['Running', 'Succeeded'].includes(byId.get(id)?.['state'] as string),
      `the job is listed: ${JSON.stringify(byId.get(id)?.['state'])}`,
    );
    assert.ok(((byId.get(id)?.['epochs'] as unknown[]) ?? []).length >= 1, 'with its evaluated epochs');
    assert.equal(byId.get('ghost-running-000001')?.['state'], 'Failed');
    assert.match(
      String(byId.get('ghost-running-000001')?.['reason']),
      /parameter servers no longer hold the job's state/,
    );
    assert.equal(byId.get('ghost-pending-000002')?.['state'], 'Failed');
    assert.match(
      String(byId.get('ghost-pending-000002')?.['reason']),
      /restarted while the job was starting/,
    );

    // The watch open across the restart reconnects, deduplicates, and follows the job to the end.
    const live = await watching;
    assert.equal(live.code, 0, live.stderr.slice(-3000));
    assert.equal((live.json.at(-1) as { state: string }).state, 'Succeeded');
    assertHistory(eventsOf(live), 'watch across the restart');

    // A watch started after the restart replays the whole history from JetStream.
    const late = await runCli(['watch', id, '--json', '--coordinator', address], { timeoutMs: 60_000 });
    assert.equal(late.code, 0, late.stderr.slice(-3000));
    const lines = eventsOf(late);
    assertHistory(lines, 'late watch');
    assert.ok(
      lines.some((l) => l.type === 'log' && /re-adopted the job/.test(l.message ?? '')),
      'the re-adoption is in the history',
    );
    const final = await getJob(id);
    assert.equal(final.state, 'JOB_STATE_SUCCEEDED');
    assert.equal(final.epochs.length, EPOCHS);
    assert.ok(
      final.epochs.every((e) => e.testAccuracy > 0.8),
      'it trained on through the restart',
    );
  },
);
