// The roles that do not compute start without TensorFlow.js: each is started with a module-resolve
// recorder, and the modules it resolved by the time it listens must include none of @tensorflow.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../support/cli.ts';
import { startService } from '../support/services.ts';

const dir = mkdtempSync(join(tmpdir(), 'distrain-imports-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const RECORDER = ['--import', 'tsx', '--import', `${ROOT}test/support/import-recorder.mjs`];

function loaded(log: string): string[] {
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

const roles: [string, string[]][] = [
  ['parameter-server', ['--port', '0']],
  ['data-loader', ['--port', '0']],
  ['coordinator', ['--port', '0', '--loader', '127.0.0.1:1', '--ps', '127.0.0.1:2']],
];

for (const [role, args] of roles) {
  test(`${role} starts without loading TensorFlow.js`, async () => {
    const log = join(dir, `${role}.log`);
    const service = await startService(role, args, { DISTRAIN_IMPORT_LOG: log }, RECORDER);
    try {
      const urls = loaded(log);
      assert.ok(
        urls.some((u) => u.includes('@grpc/grpc-js')),
        'the recorder saw the gRPC library load',
      );
      assert.deepEqual(
        urls.filter((u) => u.includes('@tensorflow')),
        [],
        `${role} loaded TensorFlow.js at start-up`,
      );
    } finally {
      await service.stop();
    }
  });
}

test('distrain --help loads neither TensorFlow.js nor the services', () => {
  const log = join(dir, 'cli.log');
  const r = spawnSync(process.execPath, [...RECORDER, `${ROOT}packages/cli/src/main.ts`, '--help'], {
    env: { ...process.env, DISTRAIN_IMPORT_LOG: log },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /distrain/);
  const urls = loaded(log);
  assert.ok(urls.length > 0);
  assert.deepEqual(
    urls.filter((u) => u.includes('@tensorflow')),
    [],
  );
});

test('a trainer-side import of the model door does load TensorFlow.js (the recorder can fail)', () => {
  const log = join(dir, 'model.log');
  const r = spawnSync(
    process.execPath,
    [...RECORDER, '-e', "await import('@distrain/core/model')", '--input-type=module'],
    {
      cwd: ROOT,
      env: { ...process.env, DISTRAIN_IMPORT_LOG: log },
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.ok(loaded(log).some((u) => u.includes('@tensorflow')));
});
