import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { UnavailableError, ValidationError, toGrpcStatus } from '@distrain/core';
import { admitJob } from './jobs/admission.ts';
import { jobDoc } from './jobs/test-fakes.ts';
import { grpcPorts } from './wiring.ts';

/** A loopback port nobody listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('a data-loader that is down is UNAVAILABLE "data-loader at ADDR unreachable", at admission too', async () => {
  const address = `127.0.0.1:${await deadPort()}`;
  const ports = grpcPorts({ loaderAddress: address, rpcTimeoutMs: 5_000 });
  try {
    const check = (err: unknown): boolean => {
      assert.ok(err instanceof UnavailableError, String(err));
      assert.ok(!(err instanceof ValidationError));
      assert.match(
        err.message,
        new RegExp(`^data-loader at ${address} unreachable \\(.+\\); retry when it is back$`),
      );
      assert.equal(toGrpcStatus(err).code, GrpcStatus.UNAVAILABLE);
      return true;
    };
    await assert.rejects(ports.catalog.describe({ name: 'mnist' } as never), check);
    await assert.rejects(
      admitJob(jobDoc(), { catalog: ports.catalog, jobs: [], maxActiveJobs: 4, nowMs: 0 }),
      check,
    );
  } finally {
    ports.close();
  }
});
