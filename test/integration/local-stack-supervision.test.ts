/**
 * The local stack of `distrain up`/`run` supervises its services as Kubernetes would: a SIGKILLed
 * data-loader or parameter-server shard is restarted on the same ports with the same flags, after a
 * backoff, and each death and restart is a notice (printed by the CLI, sent to the coordinator);
 * past the restart limit it gives up and says so. Real processes on loopback; no job (the fault
 * suite, test/e2e/fault-roles.test.ts, kills services under a running job).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { MALLOC_TUNABLES, dataLoaderClient, sleep, unary } from '@distrain/core';
import type { ParentNotice } from '@distrain/core';
import { startLocalStack } from '../../packages/cli/src/local-stack.ts';
import type { LocalStack } from '../../packages/cli/src/local-stack.ts';
import type { SupervisedService } from '../../packages/cli/src/service-supervisor.ts';
import { startedWithMallocSettings } from '../support/malloc.ts';

let stack: LocalStack;
const notices: ParentNotice[] = [];

before(async () => {
  stack = await startLocalStack({
    restartPolicy: { backoffMs: 200, maxRestarts: 2 },
    onNotice: (n) => notices.push(n),
  });
});
after(async () => {
  await stack?.stop();
});

function service(name: string): SupervisedService {
  const s = stack.services.find((x) => x.name === name);
  assert.ok(s, `service ${name}`);
  return s;
}

async function until(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}; notices: ${JSON.stringify(notices)}`);
    await sleep(50);
  }
}

function listens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const noticesOf = (name: string, type: ParentNotice['type']): ParentNotice[] =>
  notices.filter((n) => n.service === name && n.type === type);

test("every service starts with distrain's malloc settings (fewer page faults per step)", () => {
  assert.ok(stack.services.length >= 3);
  for (const s of stack.services)
    assert.ok(
      startedWithMallocSettings(s.child.pid as number),
      `${s.name}: GLIBC_TUNABLES=${MALLOC_TUNABLES}`,
    );
});

test(
  'a SIGKILLed data-loader is restarted on the same port and serves again',
  { timeout: 90_000 },
  async () => {
    const loader = service('data-loader');
    const before = loader.child.pid;
    process.kill(before as number, 'SIGKILL');
    await until('the data-loader restart', () => noticesOf('data-loader', 'service-restarted').length === 1);
    const down = noticesOf('data-loader', 'service-down')[0];
    assert.ok(down);
    assert.equal(down.level, 'warn');
    assert.equal(down.address, stack.loader);
    assert.match(
      down.message,
      /data-loader at 127\.0\.0\.1:\d+ killed by SIGKILL; restarting it on the same port in 0\.2 s \(restart 1 of 2\)/,
    );
    assert.notEqual(loader.child.pid, before);
    assert.equal(loader.restarts, 1);
    const client = dataLoaderClient(stack.loader, undefined, { token: stack.token });
    try {
      const info = await unary(
        client,
        client.describeDataset,
        { dataset: { name: 'mnist', sampleCount: 100 } },
        { timeoutMs: 30_000, retries: 5 },
      );
      assert.equal(info.trainCount + info.testCount, 100);
    } finally {
      client.close();
    }
  },
);

test(
  'a SIGKILLed parameter-server shard comes back with the same flags and ports (gRPC and data plane)',
  { timeout: 90_000 },
  async () => {
    const ps = service('parameter-server-0');
    const args = ps.restartArgs;
    const flag = (name: string): string | undefined => args[args.indexOf(name) + 1];
    assert.equal(flag('--shard-index'), '0');
    assert.equal(flag('--port'), String(ps.port));
    assert.equal(flag('--metrics-port'), String(stack.metricsPorts.ps[0]));
    const dataPort = Number(flag('--data-port'));
    assert.ok(dataPort > 0, 'the ZeroMQ data port is pinned too');
    process.kill(ps.child.pid as number, 'SIGKILL');
    await until('the shard restart', () => noticesOf('parameter-server-0', 'service-restarted').length === 1);
    assert.deepEqual(ps.restartArgs, args);
    assert.ok(await listens(ps.port), 'gRPC port listens');
    assert.ok(await listens(dataPort), 'data-plane port listens');
    assert.ok(await listens(stack.metricsPorts.ps[0] as number), 'metrics port listens');
  },
);

test('past the restart limit the supervisor gives up and says so', { timeout: 90_000 }, async () => {
  const loader = service('data-loader');
  // Restart 1 happened above; this death is restart 2 of 2, the next one is past the limit.
  process.kill(loader.child.pid as number, 'SIGKILL');
  await until('restart 2', () => noticesOf('data-loader', 'service-restarted').length === 2);
  const pid = loader.child.pid as number;
  process.kill(pid, 'SIGKILL');
  await until('giving up', () => noticesOf('data-loader', 'service-gave-up').length === 1);
  const gaveUp = noticesOf('data-loader', 'service-gave-up')[0];
  assert.equal(gaveUp?.level, 'error');
  assert.match(gaveUp?.message ?? '', /killed by SIGKILL; restarted 2 times in a row, giving up/);
  await sleep(1_500);
  assert.equal(loader.child.pid, pid, 'not restarted again');
  assert.equal(await listens(Number(stack.loader.split(':')[1])), false);
});
