/**
 * The images run compiled JavaScript, not TypeScript through tsx: `npm run build` compiles every
 * package and service into its `dist/`, and a stack started from those files with
 * `--conditions=compiled` (the data-loader, a parameter-server shard, the coordinator, and through
 * it compiled trainers and the evaluator) trains a small job to the end.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { startServiceProcess } from '@distrain/core';
import type { ServiceProcess } from '@distrain/core';
import { ROOT, runCli } from '../support/cli.ts';
import { TEST_TOKEN } from '../support/services.ts';

const dir = mkdtempSync(join(tmpdir(), 'distrain-compiled-'));
const started: ServiceProcess[] = [];

function startCompiled(role: string, args: string[]): Promise<ServiceProcess> {
  return startServiceProcess({
    name: role,
    entry: `${ROOT}services/${role}/dist/main.js`,
    execArgv: ['--conditions=compiled'],
    args: ['--host', '127.0.0.1', '--port', '0', ...args],
    cwd: ROOT,
    env: { DISTRAIN_LOG_LEVEL: 'warn', DISTRAIN_AUTH_TOKEN: TEST_TOKEN },
  }).then((s) => {
    started.push(s);
    return s;
  });
}

before(() => {
  const build = spawnSync(process.execPath, [`${ROOT}scripts/build.mjs`], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  assert.equal(build.status, 0, `npm run build failed:\n${build.stdout}\n${build.stderr}`);
});
after(async () => {
  await Promise.all(started.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

test('the compiled services train a job with compiled workers', { timeout: 300_000 }, async () => {
  const [loader, ps] = await Promise.all([
    startCompiled('data-loader', []),
    startCompiled('parameter-server', []),
  ]);
  const coordinator = await startCompiled('coordinator', [
    '--loader',
    `127.0.0.1:${loader.port}`,
    '--ps',
    `127.0.0.1:${ps.port}`,
  ]);
  const spec = parse(readFileSync(join(ROOT, 'examples/mnist-mlp.yaml'), 'utf8')) as {
    spec: { dataset: { sampleCount: number }; epochs: number };
  };
  spec.spec.dataset.sampleCount = 3000;
  spec.spec.epochs = 1;
  const file = join(dir, 'job.yaml');
  writeFileSync(file, stringify(spec));
  const res = await runCli([
    'submit',
    file,
    '--watch',
    '--json',
    '--coordinator',
    `127.0.0.1:${coordinator.port}`,
  ]);
  assert.equal(res.code, 0, `${res.stderr.slice(-2000)}\n${coordinator.log()}`);
  const summary = res.json.at(-1) as { state: string; finalTestAccuracy: number };
  assert.equal(summary.state, 'Succeeded');
  assert.ok(summary.finalTestAccuracy > 0.7, `accuracy ${summary.finalTestAccuracy}`);
});

test('every entry the manifests and the images run is built and copied into the image', () => {
  const manifests = ['k8s/base', 'charts/distrain/templates'].flatMap((d) =>
    spawnSync('grep', ['-rhoE', 'services/[a-z-]+/dist/main\\.js', join(ROOT, d)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean),
  );
  const roles = new Set([...manifests, ...['trainer', 'evaluator'].map((r) => `services/${r}/dist/main.js`)]);
  assert.ok(manifests.length >= 3, `manifests run compiled entries: ${manifests.join(', ')}`);
  const dockerfile = readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8');
  for (const entry of roles) {
    assert.ok(spawnSync('test', ['-f', join(ROOT, entry)]).status === 0, `${entry} was not built`);
    const dist = entry.replace(/\/main\.js$/, '');
    assert.ok(
      dockerfile.includes(`COPY --from=build /app/${dist} ${dist}`),
      `docker/Dockerfile does not copy ${dist}`,
    );
  }
  assert.doesNotMatch(dockerfile, /--import", "tsx"/);
});
