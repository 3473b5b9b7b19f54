/** examples/client-submit.ts, run as a user runs it against `distrain up`: it submits and follows a job. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, startUp } from '../support/cli.ts';
import type { UpStack } from '../support/cli.ts';

let stack: UpStack;
before(async () => {
  stack = await startUp();
});
after(async () => {
  await stack?.stop();
});

test(
  'examples/client-submit.ts submits a job and watches it to Succeeded',
  { timeout: 300_000 },
  async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'examples/client-submit.ts', '--coordinator', stack.coordinator, '--epochs', '2'],
      { cwd: ROOT, timeout: 280_000 },
    );
    const lines = stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^submitted mnist-mlp-/);
    assert.deepEqual(
      lines.filter((l) => l.startsWith('epoch ')).map((l) => l.split(':')[0]),
      ['epoch 1', 'epoch 2'],
    );
    assert.ok(lines.includes('state JOB_STATE_SUCCEEDED'), stdout);
    assert.equal(lines.at(-1), 'final: JOB_STATE_SUCCEEDED, 2 epochs');
    const accuracy = Number(/epoch 2: test accuracy ([\d.]+)%/.exec(stdout)?.[1]);
    assert.ok(accuracy > 85, `accuracy ${accuracy}%`);
  },
);
