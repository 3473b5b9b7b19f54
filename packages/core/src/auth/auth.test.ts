import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Metadata, makeGenericClientConstructor, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { distrainProto, jobClient, workerClient } from '../proto.ts';
import { startGrpcServer } from '../grpc-server.ts';
import type { RunningGrpcServer } from '../grpc-server.ts';
import { unary } from '../grpc-client.ts';
import { PermissionDeniedError, UnauthenticatedError, toGrpcStatus } from '../errors.ts';
import { Authenticator, bearerToken, generateToken, jobCredential, tokensEqual } from './token.ts';
import { accessLevelOf } from './interceptors.ts';
import { channelCredentials } from './security.ts';

test('tokensEqual: equal, different, different lengths (hashed first, so no length error), empty', () => {
  assert.equal(tokensEqual('abc', 'abc'), true);
  assert.equal(tokensEqual('abc', 'abd'), false);
  assert.equal(tokensEqual('abc', 'abcdefghijklmnop'), false);
  assert.equal(tokensEqual('', 'x'), false);
  const t = generateToken();
  assert.match(t, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(t, generateToken());
});

test('bearerToken: reads "authorization: Bearer T", nothing else', () => {
  const md = new Metadata();
  assert.equal(bearerToken(md), undefined);
  md.set('authorization', 'Bearer s3cret');
  assert.equal(bearerToken(md), 's3cret');
  md.set('authorization', 'Basic s3cret');
  assert.equal(bearerToken(md), undefined);
});

test('Authenticator: service token missing / wrong / right; auth none accepts everything', () => {
  const auth = new Authenticator('deploy-token');
  assert.throws(
    () => auth.checkService(undefined),
    (e: unknown) => {
      assert.ok(e instanceof UnauthenticatedError);
      assert.match(e.message, /missing bearer token.*DISTRAIN_TOKEN/);
      assert.equal(toGrpcStatus(e).code, GrpcStatus.UNAUTHENTICATED);
      return true;
    },
  );
  assert.throws(() => auth.checkService('deploy-tokeN'), /wrong bearer token/);
  auth.checkService('deploy-token');
  const none = new Authenticator(undefined);
  assert.equal(none.enabled, false);
  none.checkService(undefined);
  none.checkJob(undefined, 'a');
  assert.equal(none.jobCredential('a'), '');
});

test('Authenticator: job credentials: own job ok, another job PERMISSION_DENIED, forged UNAUTHENTICATED', () => {
  const auth = new Authenticator('deploy-token');
  const a = auth.jobCredential('job-a');
  const b = auth.jobCredential('job-b');
  assert.equal(a, jobCredential('deploy-token', 'job-a'));
  assert.notEqual(a, b);
  auth.checkJob(a, 'job-a');
  auth.checkJob('deploy-token', 'job-a'); // services (the coordinator, tests) may act on any job
  assert.throws(
    () => auth.checkJob(b, 'job-a'),
    (e: unknown) => {
      assert.ok(e instanceof PermissionDeniedError);
      assert.equal(toGrpcStatus(e).code, GrpcStatus.PERMISSION_DENIED);
      return true;
    },
  );
  assert.throws(() => auth.checkJob(undefined, 'job-a'), /missing job credential/);
  // Another deployment's credential for the same job id, and a forged one naming job-b.
  assert.throws(() => auth.checkJob(jobCredential('other', 'job-a'), 'job-a'), UnauthenticatedError);
  assert.throws(() => auth.checkJob(`job-b.${'A'.repeat(43)}`, 'job-a'), UnauthenticatedError);
});

test('accessLevelOf: method over service, health and reflection open, unlisted needs the token', () => {
  const rules = { 'distrain.v1.WorkerService': 'job', 'distrain.v1.X/Open': 'open' } as const;
  assert.equal(accessLevelOf('/distrain.v1.WorkerService/Heartbeat', rules), 'job');
  assert.equal(accessLevelOf('/distrain.v1.X/Open', rules), 'open');
  assert.equal(accessLevelOf('/distrain.v1.X/Other', rules), 'service');
  assert.equal(accessLevelOf('/grpc.health.v1.Health/Check', rules), 'open');
  assert.equal(accessLevelOf('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', rules), 'open');
});

// A real server on loopback: JobService needs the deployment token, WorkerService a job credential.
const TOKEN = 'the-deployment-token';
let server: RunningGrpcServer;
let handled = 0;

before(async () => {
  const proto = distrainProto();
  server = await startGrpcServer({
    services: [
      {
        name: 'distrain.v1.JobService',
        definition: proto.JobService.service,
        implementation: {
          ListJobs: (_call: unknown, cb: (e: null, v: object) => void) => {
            handled++;
            cb(null, { jobs: [] });
          },
        },
      },
      {
        name: 'distrain.v1.WorkerService',
        definition: proto.WorkerService.service,
        implementation: {
          Heartbeat: (_call: unknown, cb: (e: null, v: object) => void) => {
            handled++;
            cb(null, { stop: false, reason: '' });
          },
        },
      },
    ],
    auth: { authenticator: new Authenticator(TOKEN), rules: { 'distrain.v1.WorkerService': 'job' } },
  });
});
after(() => server.shutdown(100));

async function code(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return GrpcStatus.OK;
  } catch (err) {
    return (err as ServiceError).code;
  }
}

test('server: user calls need the token; a refused call never reaches the handler', async () => {
  const before = handled;
  const none = jobClient(server.address, {}, {});
  const wrong = jobClient(server.address, {}, { token: 'nope' });
  const right = jobClient(server.address, {}, { token: TOKEN });
  try {
    assert.equal(await code(unary(none, none.listJobs, {})), GrpcStatus.UNAUTHENTICATED);
    const err = await unary(wrong, wrong.listJobs, {}).catch((e: ServiceError) => e);
    assert.equal((err as ServiceError).code, GrpcStatus.UNAUTHENTICATED);
    assert.match((err as ServiceError).details, /wrong bearer token.*--token, DISTRAIN_TOKEN/);
    assert.equal(handled, before);
    assert.equal(await code(unary(right, right.listJobs, {})), GrpcStatus.OK);
    assert.equal(handled, before + 1);
  } finally {
    for (const c of [none, wrong, right]) c.close();
  }
});

test('server: worker calls need their own job credential; health stays open', async () => {
  const auth = new Authenticator(TOKEN);
  const hb = { jobId: 'job-a', role: 'trainer', rank: 0 };
  const clients = {
    none: workerClient(server.address, {}, {}),
    own: workerClient(server.address, {}, { token: auth.jobCredential('job-a') }),
    other: workerClient(server.address, {}, { token: auth.jobCredential('job-b') }),
  };
  try {
    assert.equal(await code(unary(clients.none, clients.none.heartbeat, hb)), GrpcStatus.UNAUTHENTICATED);
    assert.equal(await code(unary(clients.other, clients.other.heartbeat, hb)), GrpcStatus.PERMISSION_DENIED);
    assert.equal(await code(unary(clients.own, clients.own.heartbeat, hb)), GrpcStatus.OK);
    const Health = makeGenericClientConstructor(healthService, 'Health');
    const health = new Health(server.address, channelCredentials({})) as unknown as {
      check(r: object, cb: (err: Error | null, v: { status: string }) => void): void;
      close(): void;
    };
    const res = await new Promise<{ status: string }>((resolve, reject) =>
      health.check({ service: '' }, (err, v) => (err ? reject(err) : resolve(v))),
    );
    assert.equal(res.status, 'SERVING');
    health.close();
  } finally {
    for (const c of Object.values(clients)) c.close();
  }
});
