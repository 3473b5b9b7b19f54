/**
 * Authentication, authorization and TLS on real services (loopback): a stack that requires the
 * deployment token runs a tiny digits job to Succeeded; wrong or missing user tokens get
 * UNAUTHENTICATED; worker calls without a credential or with another job's get UNAUTHENTICATED /
 * PERMISSION_DENIED at the coordinator, the data-loader, a shard's gRPC and its ZeroMQ data plane.
 * Then a mutual-TLS stack (throwaway CA made with openssl) runs the same job.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import {
  dataLoaderClient,
  datasetSpecToWire,
  distrainProto,
  jobClient,
  jobCredential,
  parameterServerClient,
  unary,
  workerClient,
} from '@distrain/core';
import type { ClientSecurity } from '@distrain/core';
import { DATA_PLANE_PAD_BYTES, ZmqChannel } from '@distrain/core/ps';
import { AuthenticationError, DistrainClient } from '@distrain/client';
import type { TrainingJobInput } from '@distrain/client';
import { TEST_TOKEN, startService } from '../support/services.ts';
import type { ServiceProcess } from '../support/services.ts';
import { runCli } from '../support/cli.ts';
import { makeTestPki } from '../support/tls.ts';

const started: ServiceProcess[] = [];
after(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

const SPEC: TrainingJobInput = {
  apiVersion: 'distrain.io/v1',
  kind: 'TrainingJob',
  metadata: { name: 'auth-digits' },
  spec: {
    seed: 7,
    dataset: { name: 'mnist', sampleCount: 600 },
    model: {
      layers: [
        { type: 'flatten' },
        { type: 'dense', units: 32, activation: 'relu' },
        { type: 'dense', units: 10 },
      ],
    },
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'adam', learningRate: 0.01 },
    batchSize: 64,
    epochs: 1,
    trainers: { replicas: 2, backend: 'wasm' },
  },
};

interface Stack {
  loader: ServiceProcess;
  ps: ServiceProcess;
  coordinator: ServiceProcess;
}

async function startStack(extraArgs: string[] = []): Promise<Stack> {
  const [loader, ps] = await Promise.all([
    startService('data-loader', ['--port', '0', ...extraArgs]),
    startService('parameter-server', ['--port', '0', '--shard-index', '0', ...extraArgs]),
  ]);
  started.push(loader, ps);
  const coordinator = await startService('coordinator', [
    '--port',
    '0',
    '--loader',
    `127.0.0.1:${loader.port}`,
    '--ps',
    `127.0.0.1:${ps.port}`,
    ...extraArgs,
  ]);
  started.push(coordinator);
  return { loader, ps, coordinator };
}

async function codeOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return GrpcStatus.OK;
  } catch (err) {
    return (err as ServiceError).code;
  }
}

/** The status a server stream ends with (OK when it ends normally). */
function streamCode(stream: NodeJS.EventEmitter & { cancel(): void }): Promise<number> {
  return new Promise((resolve) => {
    stream.on('data', () => {
      stream.cancel();
      resolve(GrpcStatus.OK);
    });
    stream.on('error', (err: ServiceError) => resolve(err.code));
    stream.on('end', () => resolve(GrpcStatus.OK));
  });
}

test(
  'with a token: a job runs to Succeeded, wrong user tokens and foreign worker credentials are refused',
  { timeout: 110_000 },
  async () => {
    const t0 = Date.now();
    const stack = await startStack();
    const address = `127.0.0.1:${stack.coordinator.port}`;

    // Users: missing and wrong tokens get UNAUTHENTICATED for list, submit and cancel.
    for (const security of [{}, { token: 'wrong' }] as ClientSecurity[]) {
      const c = jobClient(address, {}, security);
      assert.equal(await codeOf(unary(c, c.listJobs, {})), GrpcStatus.UNAUTHENTICATED);
      assert.equal(
        await codeOf(unary(c, c.submitJob, { spec: JSON.stringify(SPEC) })),
        GrpcStatus.UNAUTHENTICATED,
      );
      assert.equal(await codeOf(unary(c, c.cancelJob, { id: 'x', reason: '' })), GrpcStatus.UNAUTHENTICATED);
      c.close();
    }
    const cli = await runCli(['list', '--coordinator', address], { env: { DISTRAIN_TOKEN: 'wrong' } });
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /UNAUTHENTICATED/);
    const rejected = new DistrainClient({ address, token: 'wrong' });
    await assert.rejects(rejected.list(), AuthenticationError);
    rejected.close();

    // The right token: the job's workers authenticate everywhere with their job credential.
    const client = new DistrainClient({ address, token: TEST_TOKEN, timeoutMs: 60_000 });
    const job = await client.submit(SPEC);
    const final = await client.waitForEnd(job.id);
    assert.equal(final.state, 'JOB_STATE_SUCCEEDED', final.reason);
    assert.ok((final.epochs[0]?.testAccuracy ?? 0) > 0.3, `accuracy ${final.epochs[0]?.testAccuracy}`);
    client.close();

    // Workers: no credential -> UNAUTHENTICATED; job B's credential on job A -> PERMISSION_DENIED.
    const A = job.id;
    const own = jobCredential(TEST_TOKEN, A);
    const other = jobCredential(TEST_TOKEN, 'another-job');
    const cases: [string, ClientSecurity, number][] = [
      ['none', {}, GrpcStatus.UNAUTHENTICATED],
      ['forged', { token: `${A}.forged` }, GrpcStatus.UNAUTHENTICATED],
      ['other job', { token: other }, GrpcStatus.PERMISSION_DENIED],
    ];
    const loaderReq = {
      jobId: A,
      dataset: datasetSpecToWire({ name: 'mnist', sampleCount: 600 }),
      split: 'SPLIT_TRAIN' as const,
      epoch: 1,
      rank: 0,
      worldSize: 1,
      globalBatchSize: 64,
      seed: 7,
      startStep: 0,
      endStep: 1,
    };
    for (const [what, security, expected] of cases) {
      const w = workerClient(address, {}, security);
      const hb = { jobId: A, role: 'trainer', rank: 0, globalStep: 1 };
      assert.equal(await codeOf(unary(w, w.heartbeat, hb)), expected, `coordinator Heartbeat, ${what}`);
      assert.equal(
        await codeOf(unary(w, w.reportEvaluation, { jobId: A })),
        expected,
        `coordinator ReportEvaluation, ${what}`,
      );
      w.close();
      const l = dataLoaderClient(`127.0.0.1:${stack.loader.port}`, {}, security);
      assert.equal(await streamCode(l.streamBatches(loaderReq)), expected, `loader StreamBatches, ${what}`);
      l.close();
      const p = parameterServerClient(`127.0.0.1:${stack.ps.port}`, {}, security);
      assert.equal(await codeOf(unary(p, p.pull, { jobId: A })), expected, `shard gRPC Pull, ${what}`);
      assert.equal(
        await codeOf(unary(p, p.pushPull, { jobId: A, rank: 0, step: 0 })),
        expected,
        `shard gRPC PushPull, ${what}`,
      );
      p.close();
    }
    // Control-plane calls of the shard and loader need the deployment token, not a job credential.
    const asWorker = parameterServerClient(`127.0.0.1:${stack.ps.port}`, {}, { token: own });
    assert.equal(await codeOf(unary(asWorker, asWorker.endJob, { jobId: A })), GrpcStatus.UNAUTHENTICATED);
    assert.equal(
      await codeOf(unary(asWorker, asWorker.setMembers, { jobId: A, members: [] })),
      GrpcStatus.UNAUTHENTICATED,
    );
    asWorker.close();
    const loaderAsWorker = dataLoaderClient(`127.0.0.1:${stack.loader.port}`, {}, { token: own });
    assert.equal(
      await codeOf(unary(loaderAsWorker, loaderAsWorker.releaseJob, { jobId: A })),
      GrpcStatus.UNAUTHENTICATED,
    );
    loaderAsWorker.close();

    // The shard's ZeroMQ data plane checks the token frame the same way.
    const dataPort = Number(stack.ps.listening['dataPort']);
    assert.ok(dataPort > 0, 'the shard serves the ZeroMQ data plane');
    const pullBody = Buffer.concat([
      Buffer.alloc(DATA_PLANE_PAD_BYTES),
      distrainProto().ParameterServerService.service.Pull.requestSerialize({ jobId: A }),
    ]);
    const zmqCode = async (token: string): Promise<number> => {
      const ch = await ZmqChannel.connect(`tcp://127.0.0.1:${dataPort}`, { token });
      try {
        return await codeOf(ch.request('Pull', pullBody, 10_000));
      } finally {
        ch.close();
      }
    };
    assert.equal(await zmqCode(''), GrpcStatus.UNAUTHENTICATED, 'zmq Pull, no token');
    assert.equal(await zmqCode(`${A}.forged`), GrpcStatus.UNAUTHENTICATED, 'zmq Pull, forged');
    assert.equal(await zmqCode(other), GrpcStatus.PERMISSION_DENIED, 'zmq Pull, other job');
    // Its own credential passes the check (the answer is then about the job, not the caller).
    const ownCode = await zmqCode(own);
    assert.ok(
      ![GrpcStatus.UNAUTHENTICATED, GrpcStatus.PERMISSION_DENIED].includes(ownCode),
      `own: ${ownCode}`,
    );
    const ownGrpc = parameterServerClient(`127.0.0.1:${stack.ps.port}`, {}, { token: own });
    const ownGrpcCode = await codeOf(unary(ownGrpc, ownGrpc.pull, { jobId: A }));
    assert.ok(
      ![GrpcStatus.UNAUTHENTICATED, GrpcStatus.PERMISSION_DENIED].includes(ownGrpcCode),
      `own: ${ownGrpcCode}`,
    );
    ownGrpc.close();
    console.log(`token stack: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  },
);

test('a service without a token refuses to start unless told --auth none', async () => {
  await assert.rejects(
    startService('coordinator', ['--port', '0', '--loader', '127.0.0.1:1', '--ps', '127.0.0.1:1'], {
      DISTRAIN_AUTH_TOKEN: '',
    }),
    /--auth-token-file: no deployment token.*--auth none/,
  );
  const open = await startService('parameter-server', ['--port', '0', '--auth', 'none'], {
    DISTRAIN_AUTH_TOKEN: '',
  });
  started.push(open);
  const p = parameterServerClient(`127.0.0.1:${open.port}`, {}, {});
  // No credential, and yet the call reaches the service (which does not know the job).
  assert.equal(await codeOf(unary(p, p.pull, { jobId: 'nobody' })), GrpcStatus.NOT_FOUND);
  p.close();
});

test(
  'mutual TLS: the whole stack over TLS with a throwaway CA; no client certificate, no call',
  { timeout: 110_000 },
  async () => {
    const t0 = Date.now();
    const pki = makeTestPki();
    after(() => pki.remove());
    const tlsArgs = [
      '--tls-cert',
      pki.certFile,
      '--tls-key',
      pki.keyFile,
      '--tls-ca',
      pki.caFile,
      '--tls-client-auth',
      'true',
    ];
    const stack = await startStack(tlsArgs);
    assert.equal(stack.ps.listening['dataPort'], undefined, 'under TLS the ZeroMQ data plane is off');
    const address = `127.0.0.1:${stack.coordinator.port}`;
    const tls = {
      ca: pki.pem(pki.caFile),
      cert: pki.pem(pki.clientCertFile),
      key: pki.pem(pki.clientKeyFile),
    };
    const client = new DistrainClient({ address, token: TEST_TOKEN, tls, timeoutMs: 60_000 });
    const job = await client.submit(SPEC);
    const final = await client.waitForEnd(job.id);
    assert.equal(final.state, 'JOB_STATE_SUCCEEDED', final.reason);
    client.close();

    // A TLS client without a client certificate, and a plaintext client, get no answer.
    const noCert = jobClient(address, {}, { token: TEST_TOKEN, tls: { ca: tls.ca } });
    assert.equal(
      await codeOf(unary(noCert, noCert.listJobs, {}, { timeoutMs: 5_000 })),
      GrpcStatus.UNAVAILABLE,
    );
    noCert.close();
    const plain = jobClient(address, {}, { token: TEST_TOKEN });
    assert.equal(
      await codeOf(unary(plain, plain.listJobs, {}, { timeoutMs: 5_000 })),
      GrpcStatus.UNAVAILABLE,
    );
    plain.close();
    // With the certificate, the token is still required.
    const noToken = jobClient(address, {}, { tls });
    assert.equal(await codeOf(unary(noToken, noToken.listJobs, {})), GrpcStatus.UNAUTHENTICATED);
    noToken.close();
    // The CLI's TLS options.
    const cli = await runCli([
      'list',
      '--json',
      '--coordinator',
      address,
      '--tls-ca',
      pki.caFile,
      '--tls-cert',
      pki.clientCertFile,
      '--tls-key',
      pki.clientKeyFile,
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.ok(cli.stdout.includes(job.id));
    console.log(`TLS stack: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  },
);
