import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MethodDefinition } from '@grpc/proto-loader';
import { loadDefinition, packageDefinition } from '../proto.ts';
import { writeDouble, writeVarint } from '../protobuf-wire.ts';
import type { NamedTensor } from '../generated/distrain/v1/NamedTensor.ts';
import type { PushPullRequest } from '../generated/distrain/v1/PushPullRequest.ts';
import {
  EncodedMessage,
  GRPC_FRAME_HEADER_BYTES,
  decodePullResponse,
  decodePushPullRequest,
  decodePushPullResponse,
  encodePullResponse,
  encodePushPullRequest,
  encodePushPullResponse,
} from './fast-codecs.ts';

type Method = MethodDefinition<unknown, unknown>;
// protobufjs, as proto-loader sets it up: the reference both ways.
const plain = loadDefinition({ fastCodecs: false })[
  'distrain.v1.ParameterServerService'
] as unknown as Record<string, Method>;
const fast = packageDefinition()['distrain.v1.ParameterServerService'] as unknown as Record<string, Method>;
const PP = plain.PushPull as Method;
const PULL = plain.Pull as Method;

const f32 = (...x: number[]): Buffer => Buffer.from(Float32Array.from(x).buffer);
const tensor = (name: string, data: Buffer, shape = [data.length / 4]): NamedTensor => ({
  name,
  tensor: { dtype: 'DTYPE_FLOAT32', shape, data },
});

/** Copies `bytes` to offset 5 of a fresh buffer, where grpc-js hands messages to a deserializer. */
function asReceived(bytes: Uint8Array): Buffer {
  const frame = Buffer.alloc(bytes.length + GRPC_FRAME_HEADER_BYTES + 4096); // > pool size: own ArrayBuffer
  frame.set(bytes, GRPC_FRAME_HEADER_BYTES);
  return frame.subarray(GRPC_FRAME_HEADER_BYTES, GRPC_FRAME_HEADER_BYTES + bytes.length);
}

const REQUESTS: PushPullRequest[] = [
  {
    jobId: 'job-1',
    rank: 3,
    step: 2 ** 40 + 7,
    sampleCount: 128,
    lossSum: -12.5,
    ackOnly: true,
    grads: [tensor('dense/kernel#0', f32(1, 2, 3, 4, 5, 6), [2, 3]), tensor('dense/bias', f32(0.5))],
    states: [tensor('bn/moving_mean', f32(-1, 1))],
  },
  { jobId: '', rank: 0, step: 0, sampleCount: 0, lossSum: 0, grads: [], states: [] },
  { jobId: 'jöb ✓', grads: [{ name: 'no-tensor' }, { name: '', tensor: {} }, tensor('x', f32(), [0])] },
  {
    jobId: 'j',
    grads: [
      {
        name: 'int',
        tensor: {
          dtype: 'DTYPE_INT32',
          shape: [1, 1, 2],
          data: Buffer.from(Int32Array.from([7, -7]).buffer),
        },
      },
      { name: 'u8', tensor: { dtype: 3, shape: [5], data: Buffer.from([1, 2, 3, 4, 5]) } },
      { name: 'scalar', tensor: { dtype: 'DTYPE_FLOAT32', shape: [], data: f32(9) } },
      {
        name: 'big',
        tensor: { dtype: 'DTYPE_FLOAT32', shape: [300, 70], data: Buffer.alloc(300 * 70 * 4, 1) },
      },
    ],
  },
];

void test('PushPullRequest: fast encode reads back identically with protobufjs, and vice versa', () => {
  for (const req of REQUESTS) {
    const fastBytes = encodePushPullRequest(req);
    assert.ok(fastBytes, 'fast path taken');
    const viaPlain = PP.requestDeserialize(fastBytes);
    const plainBytes = PP.requestSerialize(req);
    assert.deepStrictEqual(viaPlain, PP.requestDeserialize(plainBytes));
    assert.deepStrictEqual(decodePushPullRequest(plainBytes), PP.requestDeserialize(plainBytes));
    assert.deepStrictEqual(decodePushPullRequest(fastBytes), viaPlain);
    // Same key order as proto-loader (one hidden class for both paths).
    assert.deepStrictEqual(Object.keys(decodePushPullRequest(plainBytes)), Object.keys(viaPlain as object));
  }
});

void test('PushPullResponse and PullResponse: both ways against protobufjs', () => {
  const params = [tensor('a#0', f32(1, 2, 3)), tensor('a#1', f32(4)), { name: 'empty' }];
  for (const res of [
    { version: 17, params, meanLoss: 0.25, ranks: 2, serverSeconds: 0.0125, applySeconds: 0.001 },
    { version: 18, params: [], meanLoss: 0.5, ranks: 1, paramsChecksum: 0xfedcba98 },
    { version: 40, params, snapshotTimeMs: 1_764_576_000_123 },
    { version: 0, params: [] },
    {},
  ]) {
    const a = encodePushPullResponse(res) as Buffer;
    const b = PP.responseSerialize(res);
    assert.deepStrictEqual(PP.responseDeserialize(a), PP.responseDeserialize(b));
    assert.deepStrictEqual(decodePushPullResponse(b), PP.responseDeserialize(b));
    assert.deepStrictEqual(decodePushPullResponse(a), PP.responseDeserialize(b));
    const c = encodePullResponse(res) as Buffer;
    const d = PULL.responseSerialize(res);
    assert.deepStrictEqual(PULL.responseDeserialize(c), PULL.responseDeserialize(d));
    assert.deepStrictEqual(decodePullResponse(d), PULL.responseDeserialize(d));
  }
});

void test('decode skips unknown fields of every wire type, reads unpacked shape and any field order', () => {
  const buf = Buffer.alloc(256);
  let pos = 0;
  const key = (field: number, wt: number): void => {
    pos = writeVarint(buf, pos, field * 8 + wt);
  };
  const bytes = (field: number, b: Uint8Array): void => {
    key(field, 2);
    pos = writeVarint(buf, pos, b.length);
    buf.set(b, pos);
    pos += b.length;
  };
  const unknowns = (): void => {
    key(99, 0);
    pos = writeVarint(buf, pos, 2 ** 35);
    key(98, 1);
    pos = writeDouble(buf, pos, 1.5);
    bytes(97, Buffer.from('junk'));
    key(96, 5);
    pos += 4;
  };
  // Tensor: data first, shape unpacked then packed, dtype last (written twice: the last one wins).
  const start = pos;
  key(1, 0);
  pos = writeVarint(buf, pos, 2);
  unknowns();
  bytes(3, f32(1, 2, 3, 4));
  key(2, 0);
  pos = writeVarint(buf, pos, 2);
  bytes(2, Buffer.from([2]));
  key(1, 0);
  pos = writeVarint(buf, pos, 1);
  const tensorBytes = Buffer.from(buf.subarray(start, pos));
  pos = 0;
  unknowns();
  bytes(2, tensorBytes);
  bytes(1, Buffer.from('w'));
  const named = Buffer.from(buf.subarray(0, pos));
  pos = 0;
  key(7, 1);
  pos = writeDouble(buf, pos, 3.5);
  bytes(5, named);
  unknowns();
  key(3, 0);
  pos = writeVarint(buf, pos, 42);
  bytes(1, Buffer.from('job'));
  key(2, 0);
  pos = writeVarint(buf, pos, 2 ** 32 + 5); // uint32 keeps the low 32 bits, as protobufjs does
  bytes(6, named);
  const msg = Buffer.from(buf.subarray(0, pos));
  const want = PP.requestDeserialize(msg);
  assert.deepStrictEqual(decodePushPullRequest(msg), want);
  const got = decodePushPullRequest(msg);
  assert.equal(got.rank, 5);
  assert.deepStrictEqual(got.grads[0]?.tensor?.shape, [2, 2]);
  assert.equal(got.grads[0]?.tensor?.dtype, 'DTYPE_FLOAT32');
  // A response holding only an unknown fixed64 field (8 is a response's next free number).
  const unknown = Buffer.alloc(9);
  unknown[0] = (8 << 3) | 1;
  unknown.writeDoubleLE(3.5, 1);
  assert.deepStrictEqual(decodePushPullResponse(unknown), PP.responseDeserialize(unknown));
});

void test('decode rejects truncated messages', () => {
  const bytes = encodePushPullRequest(REQUESTS[0] as PushPullRequest) as Buffer;
  for (const cut of [1, 10, bytes.length - 3]) {
    assert.throws(() => decodePushPullRequest(bytes.subarray(0, cut)), { name: 'ValidationError' });
  }
});

void test('tensor data lands 4-byte aligned where grpc-js decodes, and decodes as a view', () => {
  for (let nameLen = 0; nameLen < 9; nameLen++) {
    for (const shape of [[6], [2, 3], [1, 2, 3], [200], [70000], [3, 100000]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      for (let jobLen = 0; jobLen < 5; jobLen++) {
        const req: PushPullRequest = {
          jobId: 'j'.repeat(jobLen),
          rank: 1,
          step: 9,
          sampleCount: 3,
          grads: [
            tensor('g'.repeat(nameLen), Buffer.alloc(n * 4, 1), shape),
            tensor('second', Buffer.alloc(8, 2), [2]),
          ],
          lossSum: 1,
        };
        const received = asReceived(encodePushPullRequest(req) as Buffer);
        const got = decodePushPullRequest(received);
        for (const nt of got.grads) {
          const d = nt.tensor?.data as Buffer;
          assert.equal(d.byteOffset % 4, 0, `name ${nameLen}, shape ${shape.join('x')}, job ${jobLen}`);
          assert.equal(d.buffer, received.buffer, 'a view, not a copy');
        }
        assert.deepStrictEqual(PP.requestDeserialize(received), got);
      }
    }
  }
});

void test('installed serializers: fast paths, generic fallbacks, pre-encoded requests', () => {
  const M = fast.PushPull as Method;
  const req = REQUESTS[0] as PushPullRequest;
  // Long-like and string numbers go through protobufjs and still decode the same.
  const odd = { ...req, step: '12', lossSum: '2.5' };
  assert.deepStrictEqual(
    M.requestDeserialize(M.requestSerialize(odd)),
    PP.requestDeserialize(PP.requestSerialize(odd)),
  );
  const b64 = {
    jobId: 'j',
    grads: [{ name: 'x', tensor: { dtype: 'DTYPE_UINT8', shape: [3], data: 'AQID' } }],
  };
  assert.deepStrictEqual(
    M.requestDeserialize(M.requestSerialize(b64)),
    PP.requestDeserialize(PP.requestSerialize(b64)),
  );
  const pre = encodePushPullRequest(req) as Buffer;
  assert.equal(M.requestSerialize(new EncodedMessage(pre)), pre);
  // Responses are encoded into a reused scratch buffer (grpc-js copies it at once).
  const res = { version: 3, params: [tensor('a', f32(1, 2))], meanLoss: 1, ranks: 1 };
  const first = M.responseSerialize(res);
  assert.deepStrictEqual(PP.responseDeserialize(first), PP.responseDeserialize(PP.responseSerialize(res)));
  const second = M.responseSerialize(res);
  assert.equal(first.buffer, second.buffer);
  const pull = (fast.Pull as Method).responseSerialize({ version: 1, params: [tensor('a', f32(5))] });
  assert.deepStrictEqual(PULL.responseDeserialize(pull), {
    version: 1,
    params: [{ name: 'a', tensor: { shape: [1], dtype: 'DTYPE_FLOAT32', data: f32(5) } }],
    snapshotTimeMs: 0,
  });
});
