/**
 * The client's transport options over real gRPC on loopback: TLS with a CA (a certificate made by
 * openssl for this test), the bearer token as `authorization` metadata, deadlines and option
 * errors; and that importing the client never loads TensorFlow.js.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { ServerUnaryCall, ServiceDefinition, sendUnaryData } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ClientOptionsError, DeadlineExceededError, DistrainClient, JobNotFoundError } from './index.ts';

const PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'distrain-client-tls-'));
let server: Server;
let port = 0;
let ca: Buffer;

before(async () => {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' }); // prettier-ignore
  ca = readFileSync(join(dir, 'cert.pem'));
  const def = loadSync(['distrain/v1/coordinator.proto'], {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [PROTO_DIR],
  });
  const proto = loadPackageDefinition(def) as unknown as {
    distrain: { v1: { JobService: { service: ServiceDefinition } } };
  };
  server = new Server();
  server.addService(proto.distrain.v1.JobService.service, {
    // Echoes the authorization metadata in `reason`; a slow job id never answers in time.
    GetJob: (call: ServerUnaryCall<{ id: string }, unknown>, cb: sendUnaryData<unknown>) => {
      if (call.request.id === 'slow') return void setTimeout(() => cb(null, { job: {} }), 2_000);
      if (call.request.id !== 'j1') return void cb({ code: 5, details: `job "${call.request.id}" not found` });
      cb(null, { job: { id: 'j1', state: 'JOB_STATE_RUNNING', reason: String(call.metadata.get('authorization')[0] ?? '') } });
    },
  }); // prettier-ignore
  const creds = ServerCredentials.createSsl(null, [
    { private_key: readFileSync(join(dir, 'key.pem')), cert_chain: ca },
  ]);
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
});

after(() => server?.forceShutdown());

test('TLS with the CA, and the token as authorization metadata', async () => {
  const client = new DistrainClient({ address: `127.0.0.1:${port}`, tls: { ca }, token: 's3cret' });
  const job = await client.get('j1');
  assert.equal(job.state, 'JOB_STATE_RUNNING');
  assert.equal(job.reason, 'Bearer s3cret');
  await assert.rejects(client.get('j2'), JobNotFoundError);
  client.close();
});

test('a plaintext client or an unknown CA cannot talk to the TLS server', async () => {
  const plain = new DistrainClient({ address: `127.0.0.1:${port}`, timeoutMs: 3_000, retries: 0 });
  await assert.rejects(plain.get('j1'));
  plain.close();
});

test('every call has a deadline', async () => {
  const client = new DistrainClient({ address: `127.0.0.1:${port}`, tls: { ca }, retries: 0 });
  await assert.rejects(client.get('slow', { timeoutMs: 200 }), DeadlineExceededError);
  client.close();
});

test('bad options name the option', () => {
  assert.throws(
    () => new DistrainClient({ address: 'localhost' }),
    (err: unknown) => {
      assert.ok(err instanceof ClientOptionsError);
      assert.equal(err.field, 'address');
      return true;
    },
  );
  assert.throws(() => new DistrainClient({ timeoutMs: 0 }), /timeoutMs: must be an integer >= 1/);
  assert.throws(() => new DistrainClient({ tls: { cert: 'x' } }), /tls: cert and key go together/);
  assert.throws(() => new DistrainClient({ token: 'a\nb' }), /token:/);
});

test('importing the client does not load TensorFlow.js', () => {
  // A resolve hook that fails any @tensorflow import, then the client's door.
  const hook = `export async function resolve(s, c, next) { if (s.startsWith('@tensorflow/')) throw new Error('tfjs loaded: ' + s + ' from ' + c.parentURL); return next(s, c); }`;
  const script = [
    `import { register } from 'node:module';`,
    `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`,
    `const m = await import('@distrain/client');`,
    `new m.DistrainClient().close();`,
    `console.log('ok');`,
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../../../', import.meta.url)),
    encoding: 'utf8',
  });
  assert.equal(out.trim(), 'ok');
});
