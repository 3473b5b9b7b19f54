// Over 400 lines: one fuzzer (mutations, byte damage, raw gRPC and ZeroMQ clients, report) kept together.
/**
 * A seeded mutation fuzzer for distrain's services: valid messages with field values moved to the
 * edges (0, -1, 2^31, 2^32, 2^53-1, NaN, huge strings, wrong types), then, for some calls, the
 * serialized bytes damaged (truncated, flipped, extra fields of any wire type). Calls go over raw
 * gRPC (bytes in, bytes out: the server's own parser meets the damage) or the ZeroMQ data plane,
 * each with a deadline; the fuzzer records every status code and every call that outlived its
 * deadline. Only loopback addresses. `metadata` carries the credential once services check one.
 */
import { Client, Metadata, credentials, status as GrpcStatus } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/grpc-js';
import type { Dealer } from 'zeromq';
import { Rng } from '@distrain/core';

/** Edge values a mutated field may take (of every type, on purpose). */
const EDGES: unknown[] = [
  0,
  -1,
  1,
  2 ** 31,
  2 ** 31 - 1,
  2 ** 32,
  2 ** 32 - 1,
  2 ** 53 - 1,
  -(2 ** 53),
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1e308,
  0.5,
  '',
  'x'.repeat(100_000),
  '../../../../etc/passwd',
  '/dev/zero',
  '\u0000\uffff',
  'JOB_STATE_RUNNING',
  true,
  null,
  [],
  {},
  Buffer.alloc(0),
  Buffer.alloc(70_000, 0xff),
];

/** A seeded random source with helpers. */
export class FuzzRng {
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  int(n: number): number {
    return this.rng.int(n);
  }
  chance(p: number): boolean {
    return this.rng.next() < p;
  }
  pick<T>(list: readonly T[]): T {
    return list[this.rng.int(list.length)] as T;
  }
  edge(): unknown {
    if (this.chance(0.15)) return `fz-${this.int(1e9).toString(36)}`;
    return this.pick(EDGES);
  }
}

/** Paths of every leaf (and array) of a plain object, e.g. `dataset.sampleCount`, `ranks`. */
function leafPaths(value: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value) || value instanceof Uint8Array) {
    out.push(prefix);
    return out;
  }
  if (Array.isArray(value)) {
    out.push(prefix);
    value.forEach((v, i) => leafPaths(v, [...prefix, String(i)], out));
    return out;
  }
  for (const [k, v] of Object.entries(value)) leafPaths(v, [...prefix, k], out);
  return out;
}

function setPath(obj: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string, ...string[]];
  const copy: Record<string, unknown> = Array.isArray(obj)
    ? ([...obj] as unknown as Record<string, unknown>)
    : { ...(obj as Record<string, unknown>) };
  copy[head] = setPath(copy[head], rest, value);
  return copy;
}

function getPath(obj: unknown, path: string[]): unknown {
  let v = obj;
  for (const k of path) v = (v as Record<string, unknown> | undefined)?.[k];
  return v;
}

/** A mutated copy of `base`: 1-3 leaves set to edge values, or an array grown or emptied. */
export function mutateMessage(base: unknown, rng: FuzzRng): unknown {
  let msg = base;
  const paths = leafPaths(base).filter((p) => p.length > 0);
  const n = 1 + rng.int(3);
  for (let i = 0; i < n && paths.length > 0; i++) {
    const path = rng.pick(paths);
    const current = getPath(msg, path);
    if (Array.isArray(current) && rng.chance(0.5)) {
      const grown = current.length > 0 && rng.chance(0.7);
      msg = setPath(msg, path, grown ? Array.from({ length: 1 + rng.int(2000) }, () => current[0]) : []);
    } else {
      msg = setPath(msg, path, rng.edge());
    }
  }
  return msg;
}

/** Varint bytes of `n` (n < 2^53). */
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** Damaged bytes: truncated, flipped, or with a random extra field of a random wire type. */
export function damageBytes(bytes: Buffer, rng: FuzzRng): Buffer {
  const b = Buffer.from(bytes);
  switch (rng.int(5)) {
    case 0:
      return b.subarray(0, rng.int(b.length + 1));
    case 1: {
      for (let i = 0, n = 1 + rng.int(4); i < n && b.length > 0; i++) b[rng.int(b.length)] = rng.int(256);
      return b;
    }
    case 2: {
      // An unknown or known field number with any wire type (0..7: 3, 4, 6, 7 are invalid).
      const tag = varint((1 + rng.int(40)) * 8 + rng.int(8));
      const body = rng.chance(0.5) ? varint(rng.int(2 ** 31)) : [...varint(1 + rng.int(50)), 1, 2, 3];
      return Buffer.concat([b, Buffer.from([...tag, ...body])]);
    }
    case 3:
      // A length prefix far past the end.
      return Buffer.concat([b, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])]);
    default:
      return Buffer.from(Array.from({ length: rng.int(64) }, () => rng.int(256)));
  }
}

/** What one call ended with. */
export interface CallOutcome {
  /** gRPC status code (0 OK); -1: no answer was expected (a request the server drops). */
  code: number;
  details: string;
  ms: number;
}

/** Status codes counted per service, and the calls that outlived their deadline. */
export class FuzzReport {
  readonly codes = new Map<string, number>();
  /** Per method and code, for a closer look (`DISTRAIN_FUZZ_VERBOSE=1`). */
  readonly byMethod = new Map<string, number>();
  readonly samples = new Map<string, string>();
  readonly late: string[] = [];
  readonly internal: string[] = [];
  calls = 0;
  constructor(readonly service: string) {}

  add(method: string, outcome: CallOutcome, deadlineMs: number): void {
    this.calls++;
    const name =
      outcome.code === -1
        ? 'NO_REPLY'
        : ((GrpcStatus as unknown as Record<number, string>)[outcome.code] ?? String(outcome.code));
    this.codes.set(name, (this.codes.get(name) ?? 0) + 1);
    const key = `${method.split('/').pop() ?? method} ${name}`;
    this.byMethod.set(key, (this.byMethod.get(key) ?? 0) + 1);
    if (!this.samples.has(key)) this.samples.set(key, outcome.details.slice(0, 160));
    // Grace for a loaded machine: the client's own event loop can stall for a second or two (GC of
    // large fuzz buffers); a server that does not answer shows as the client's deadline instead.
    if (outcome.ms > deadlineMs + 5_000)
      this.late.push(`${method}: ${outcome.ms.toFixed(0)} ms (deadline ${deadlineMs})`);
    if (outcome.code === GrpcStatus.INTERNAL || outcome.code === GrpcStatus.UNKNOWN)
      this.internal.push(`${method}: ${GrpcStatus[outcome.code]} ${outcome.details.slice(0, 300)}`);
  }

  /** One line: `service: N calls, OK 12, INVALID_ARGUMENT 9000, ...`. */
  summary(): string {
    const parts = [...this.codes.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`);
    const detail = process.env.DISTRAIN_FUZZ_VERBOSE
      ? `\n${[...this.byMethod.entries()].map(([k, v]) => `  ${k}: ${v} (${this.samples.get(k) ?? ''})`).join('\n')}`
      : '';
    return `${this.service}: ${this.calls} calls, ${parts.join(', ')}${detail}`;
  }
}

/** A raw gRPC client: request bytes in, status out (no client-side parsing of anything). */
export class RawGrpc {
  private readonly client: Client;
  constructor(
    address: string,
    private readonly metadata: () => Metadata = () => new Metadata(),
  ) {
    if (!/^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(address))
      throw new Error(`fuzz only loopback, not ${address}`);
    this.client = new Client(address, credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
    });
  }

  /** Calls `path` (unary or server stream) with `bytes`; a stream is read up to `maxMessages`. */
  call(
    path: string,
    stream: boolean,
    bytes: Buffer,
    deadlineMs: number,
    maxMessages = 3,
  ): Promise<CallOutcome> {
    const t0 = performance.now();
    const deadline = new Date(Date.now() + deadlineMs);
    const id = (b: Buffer): Buffer => b;
    return new Promise((resolve) => {
      const done = (code: number, details: string): void =>
        resolve({ code, details, ms: performance.now() - t0 });
      if (!stream) {
        this.client.makeUnaryRequest(path, id, id, bytes, this.metadata(), { deadline }, (err) =>
          err ? done(err.code ?? GrpcStatus.UNKNOWN, err.details ?? err.message) : done(0, ''),
        );
        return;
      }
      const call = this.client.makeServerStreamRequest(path, id, id, bytes, this.metadata(), { deadline });
      let n = 0;
      let ended = false;
      call.on('data', () => {
        if (++n >= maxMessages && !ended) {
          ended = true;
          call.cancel();
          done(0, `${n} messages, then cancelled`);
        }
      });
      call.on('error', (err: { code?: number; details?: string; message: string }) => {
        if (ended) return;
        ended = true;
        done(err.code ?? GrpcStatus.UNKNOWN, err.details ?? err.message);
      });
      call.on('end', () => {
        if (ended) return;
        ended = true;
        done(0, `${n} messages`);
      });
    });
  }

  /** `grpc.health.v1.Health/Check` for the whole server: true when SERVING. */
  async healthy(): Promise<boolean> {
    const t0 = performance.now();
    const res = await new Promise<Buffer | undefined>((resolve) =>
      this.client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        new Metadata(),
        { deadline: new Date(Date.now() + 5_000) },
        (err, value) => resolve(err ? undefined : value),
      ),
    );
    void t0;
    // HealthCheckResponse { status = 1 }: SERVING is 1 -> bytes 08 01.
    return res !== undefined && res.length >= 2 && res[0] === 0x08 && res[1] === 0x01;
  }

  close(): void {
    this.client.close();
  }
}

/** One method to fuzz: its path, whether it streams, valid base messages and their encoder. */
export interface FuzzTarget {
  path: string;
  stream: boolean;
  bases: unknown[];
  serialize: (value: unknown) => Buffer;
}

/** The fuzz targets of a proto-loader service definition (methods named in `bases`). */
export function targetsOf(
  definition: Record<string, MethodDefinition<unknown, unknown>>,
  bases: Record<string, unknown[]>,
): FuzzTarget[] {
  return Object.entries(bases).map(([name, list]) => {
    const m = definition[name];
    if (!m) throw new Error(`no method ${name}`);
    return { path: m.path, stream: m.responseStream, bases: list, serialize: (v) => m.requestSerialize(v) };
  });
}

/**
 * One fuzz request: a base message, mutated (most calls), serialized (a value the encoder refuses
 * falls back to the base), and damaged at the byte level (a third of the calls).
 */
export function fuzzBytes(target: FuzzTarget, rng: FuzzRng): Buffer {
  const base = rng.pick(target.bases);
  const value = rng.chance(0.9) ? mutateMessage(base, rng) : base;
  let bytes: Buffer;
  try {
    bytes = target.serialize(value);
  } catch {
    bytes = target.serialize(base);
  }
  // Grown arrays of big values can reach hundreds of MB: keep requests under 1 MB.
  if (bytes.length > 1024 * 1024) bytes = target.serialize(base);
  return rng.chance(0.33) ? damageBytes(bytes, rng) : bytes;
}

/**
 * A raw client of a shard's ZeroMQ data plane (frames `[method, id, token, timeout ms, body]`, reply
 * `[id, status, body | details]`, see packages/core/src/ps/zmq-channel.ts), for damaged frames too.
 */
export class RawZmq {
  private nextId = 1;
  private sendChain: Promise<void> = Promise.resolve();
  private readonly pending = new Map<string, (code: number, details: string) => void>();

  private constructor(private readonly socket: Dealer) {
    void this.receive();
  }

  static async connect(host: string, port: number): Promise<RawZmq> {
    if (host !== '127.0.0.1') throw new Error(`fuzz only loopback, not ${host}`);
    const zmq = await import('zeromq');
    const socket = new zmq.Dealer({ linger: 0 });
    socket.connect(`tcp://${host}:${port}`);
    return new RawZmq(socket);
  }

  /**
   * Sends `frames` after the id frame is filled in (`frames[1]`); fewer than 5 frames get no reply
   * by design (there is no id to answer), so they resolve at once with code -1.
   */
  call(frames: (string | Buffer)[], waitMs: number): Promise<CallOutcome> {
    const t0 = performance.now();
    const id = `z${this.nextId++}`;
    const out = [...frames];
    if (out.length > 1) out[1] = id;
    const send = (): void => {
      this.sendChain = this.sendChain.then(() => this.socket.send(out)).catch(() => undefined);
    };
    if (out.length < 5) {
      send();
      return Promise.resolve({ code: -1, details: 'dropped by design', ms: 0 });
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({
          code: GrpcStatus.DEADLINE_EXCEEDED,
          details: 'no reply (client gave up)',
          ms: performance.now() - t0,
        });
      }, waitMs);
      this.pending.set(id, (code, details) => {
        clearTimeout(timer);
        resolve({ code, details, ms: performance.now() - t0 });
      });
      send();
    });
  }

  private async receive(): Promise<void> {
    try {
      for await (const [idFrame, statusFrame, body] of this.socket) {
        const done = this.pending.get(String(idFrame));
        if (!done) continue;
        this.pending.delete(String(idFrame));
        const code = Number(String(statusFrame));
        done(code, code === 0 ? '' : String(body ?? ''));
      }
    } catch {
      // closed
    }
  }

  close(): void {
    this.socket.close();
  }
}

/** Runs `count` calls, `concurrency` at a time. */
export async function runPool(
  count: number,
  concurrency: number,
  one: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        if (process.env.DISTRAIN_FUZZ_VERBOSE && i % 1000 === 0) process.stderr.write(`fuzz call ${i}\n`);
        await one(i);
      }
    }),
  );
}
