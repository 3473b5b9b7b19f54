/**
 * Loader throughput benchmark: MB/s of one epoch of Fashion-MNIST train batches of 128 streamed to
 * one consumer, against two peers measured in the same run that carry the same bytes in the same
 * number and size of messages:
 *   - loader: the real DataLoaderService (gather + encode per batch) over loopback gRPC, consumed
 *     with `streamBatches` (decoding every batch into tensors);
 *   - bare grpc-js: a server stream of pre-built Buffers with identity (de)serializers that respects
 *     write() backpressure, the consumer only counting bytes: the least grpc-js needs to move them;
 *   - raw TCP: the same messages, length-prefixed, over a loopback net socket, with backpressure.
 * Both gRPC consumers use a worker's loader channel options (`LOADER_CHANNEL_OPTIONS`). Every
 * server runs in its own child process, as the data-loader does when deployed, and the consumer in
 * this one; besides MB/s the bench reports each side's CPU time per message, which other load on a
 * shared machine distorts far less than wall time. Contenders run round-robin (three warm-up
 * rounds, then `--runs` rounds) so machine noise hits all of them alike; the median counts. Each round the
 * loader streams a different epoch (warm-up rounds first, each round the next epoch), its own shuffle as in training, so nothing
 * a loader might keep from one round helps the next; the peers send epoch 0's messages (an epoch's
 * size differs from another's only in the varint bytes of its indices, and MB/s counts each
 * epoch's own bytes). Each pass moves 47.5 MB in 0.1-0.2 s, so the default is 15 rounds.
 *
 *   node --import tsx bench/loader.ts [--json] [--runs N]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { credentials, makeGenericClientConstructor, Server, ServerCredentials } from '@grpc/grpc-js';
import type { ServerWritableStream, ServiceDefinition, ClientReadableStream } from '@grpc/grpc-js';
import { clientOptions, dataLoaderClient } from '@distrain/core';
import { epochOrder, stepsPerEpoch } from '@distrain/core';
import { LOADER_CHANNEL_OPTIONS, loadDataset, streamBatches } from '@distrain/core/datasets';
import {
  encodeBatch,
  encodedBatchBytes,
  featureSource,
  WIRE_DTYPE,
} from '../services/data-loader/src/batch-encoder.ts';
import type { BatchHeader, EncodeLayout } from '../services/data-loader/src/batch-encoder.ts';
import { startLoaderServer } from '../services/data-loader/src/loader-service.ts';
import { withServiceMallocSettings } from './common.ts';

withServiceMallocSettings();
const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    runs: { type: 'string', default: '15' },
    serve: { type: 'string' },
  },
});
const BATCH = 128;
/** Rounds run before the measured ones: V8 optimizes the servers' hot paths over several epochs. */
const WARMUP_ROUNDS = 3;
const SEED = 1;
const MAX = 64 * 1024 * 1024;
const DATASET = { name: 'fashion-mnist' };

/** What a server child reports on its first stdout line. */
interface Ready {
  port: number;
  messages: number;
  totalBytes: number;
}

/**
 * Calls `each` with every batch of `epoch` as the loader plans it: the encode layout, the header,
 * the epoch's order and the batch's place in it.
 */
async function forEachBatch(
  epoch: number,
  each: (layout: EncodeLayout, header: BatchHeader, order: Uint32Array, start: number, count: number) => void,
): Promise<void> {
  const ds = await loadDataset(DATASET);
  const order = epochOrder(ds.train.count, 'train', SEED, epoch);
  const steps = stepsPerEpoch(ds.train.count, BATCH);
  const layout: EncodeLayout = {
    split: ds.train,
    featureShape: ds.featureShape,
    featureWireDType: WIRE_DTYPE.uint8,
    labelWireDType: WIRE_DTYPE.int32,
    source: featureSource(ds.train),
  };
  for (let step = 0; step < steps; step++) {
    const n = Math.min(BATCH, ds.train.count - step * BATCH);
    each(layout, { epoch, step, stepsInEpoch: steps, globalBatchSize: n, offset: 0 }, order, step * BATCH, n);
  }
}

/** Bytes of the messages the loader sends for `epoch`. */
async function epochBytes(epoch: number): Promise<number> {
  let bytes = 0;
  await forEachBatch(epoch, (...batch) => (bytes += encodedBatchBytes(...batch)));
  return bytes;
}

/** The exact messages the loader sends for epoch 0, so the peers carry the same bytes. */
async function loaderMessages(): Promise<Buffer[]> {
  const out: Buffer[] = [];
  await forEachBatch(0, (...batch) => out.push(encodeBatch(...batch)));
  return out;
}

const identity = (b: Buffer): Buffer => b;
const RAW_SERVICE: ServiceDefinition = {
  Stream: {
    path: '/bench.Raw/Stream',
    requestStream: false,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** Child process: serve one contender and report its port. */
async function serve(kind: string): Promise<void> {
  const messages = await loaderMessages();
  const totalBytes = messages.reduce((a, m) => a + m.length, 0);
  let port: number;
  if (kind === 'loader') {
    port = (await startLoaderServer({ maxMessageBytes: MAX })).server.port;
  } else if (kind === 'bare') {
    const server = new Server({
      'grpc.max_send_message_length': MAX,
      'grpc.max_receive_message_length': MAX,
    });
    server.addService(RAW_SERVICE, {
      Stream: (call: ServerWritableStream<Buffer, Buffer>) => {
        let i = 0;
        const pump = (): void => {
          while (i < messages.length) {
            if (!call.write(messages[i++] as Buffer)) {
              call.once('drain', pump);
              return;
            }
          }
          call.end();
        };
        pump();
      },
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
  } else {
    const tcp = createServer((sock: Socket) => {
      sock.once('data', () => {
        let i = 0;
        const pump = (): void => {
          while (i < messages.length) {
            const m = messages[i++] as Buffer;
            const head = Buffer.allocUnsafe(4);
            head.writeUInt32BE(m.length);
            sock.write(head);
            if (!sock.write(m)) {
              sock.once('drain', pump);
              return;
            }
          }
          sock.end();
        };
        pump();
      });
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    port = (tcp.address() as AddressInfo).port;
  }
  const ready: Ready = { port, messages: messages.length, totalBytes };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  // Each stdin line asks for this process's CPU and GC time so far (µs), answered on one stdout line.
  const gcMicros = gcClock();
  createInterface({ input: process.stdin }).on('line', () => {
    const u = process.cpuUsage();
    process.stdout.write(`${u.user + u.system} ${gcMicros()}\n`);
  });
  process.stdin.on('end', () => process.exit(0)); // the parent went away
  process.once('SIGTERM', () => process.exit(0)); // exit normally so --cpu-prof writes its profile
}

/** CPU and garbage-collection time a process has used so far, µs. */
interface Usage {
  cpuUs: number;
  gcUs: number;
}

/** Cumulative garbage-collection time of this process, µs (a PerformanceObserver of `gc` entries). */
function gcClock(): () => number {
  let us = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) us += e.duration * 1000;
  }).observe({ entryTypes: ['gc'] });
  return () => us;
}

/** A server child: its port and a way to read its CPU and GC time. */
interface ServerChild {
  child: ChildProcess;
  ready: Ready;
  usage(): Promise<Usage>;
}

function startChild(kind: string): Promise<ServerChild> {
  const child = spawn(
    process.execPath,
    // The parent's node flags (--import tsx, and --cpu-prof when profiling the bench) go to every server.
    [...process.execArgv, fileURLToPath(import.meta.url), '--serve', kind],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const answers: ((line: string) => void)[] = [];
  const usage = (): Promise<Usage> =>
    new Promise<Usage>((resolve) => {
      answers.push((line) => {
        const [cpuUs, gcUs] = line.split(' ').map(Number);
        resolve({ cpuUs: cpuUs ?? NaN, gcUs: gcUs ?? NaN });
      });
      child.stdin?.write('usage\n');
    });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
    let first = true;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (first) {
        first = false;
        resolve({ child, ready: JSON.parse(line) as Ready, usage });
      } else answers.shift()?.(line);
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** One contender: the server it reads from and one full pass over an epoch (resolves to bytes). */
interface Contender {
  server: ServerChild;
  once(round: number): Promise<number>;
}

/** Medians of one contender: throughput, and CPU and GC time per message on each side (µs). */
interface Measured {
  MBps: number;
  serverCpuUs: number;
  clientCpuUs: number;
  serverGcUs: number;
  clientGcUs: number;
}

const clientGcMicros = gcClock();

/** This process's {@link Usage} so far. */
function ownUsage(): Usage {
  const u = process.cpuUsage();
  return { cpuUs: u.user + u.system, gcUs: clientGcMicros() };
}

/**
 * Runs the contenders round-robin (one warm-up round, then `runs` rounds); each one's median MB/s
 * and median CPU and GC time per message of its server process and of this (the consumer) process.
 * CPU time is far less sensitive than wall time to other load on a shared machine.
 */
async function measure(
  runs: number,
  messages: number,
  contenders: Record<string, Contender>,
): Promise<Record<string, Measured>> {
  const names = Object.keys(contenders);
  const samples = new Map<string, Record<keyof Measured, number[]>>(
    names.map((n) => [n, { MBps: [], serverCpuUs: [], clientCpuUs: [], serverGcUs: [], clientGcUs: [] }]),
  );
  for (let round = -WARMUP_ROUNDS; round < runs; round++) {
    for (const name of names) {
      const c = contenders[name] as Contender;
      const s0 = await c.server.usage();
      const c0 = ownUsage();
      const t0 = process.hrtime.bigint();
      const bytes = await c.once(round);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const s1 = await c.server.usage(); // the round trip also lets this process's gc entries arrive
      const c1 = ownUsage();
      if (round < 0) continue; // warm-up rounds: JIT, connections, caches
      const x = samples.get(name) as Record<keyof Measured, number[]>;
      x.MBps.push(bytes / 1e6 / seconds);
      x.serverCpuUs.push((s1.cpuUs - s0.cpuUs) / messages);
      x.clientCpuUs.push((c1.cpuUs - c0.cpuUs) / messages);
      x.serverGcUs.push((s1.gcUs - s0.gcUs) / messages);
      x.clientGcUs.push((c1.gcUs - c0.gcUs) / messages);
    }
  }
  if (!values.json)
    for (const n of names)
      process.stderr.write(`${n}: ${(samples.get(n)?.MBps ?? []).map((r) => r.toFixed(0)).join(' ')} MB/s\n`);
  return Object.fromEntries(
    names.map((n) => {
      const x = samples.get(n) as Record<keyof Measured, number[]>;
      return [
        n,
        {
          MBps: median(x.MBps),
          serverCpuUs: median(x.serverCpuUs),
          clientCpuUs: median(x.clientCpuUs),
          serverGcUs: median(x.serverGcUs),
          clientGcUs: median(x.clientGcUs),
        },
      ];
    }),
  );
}

async function main(): Promise<void> {
  const runs = Math.max(1, Number(values.runs));
  const [loader, bare, tcp] = await Promise.all([
    startChild('loader'),
    startChild('bare'),
    startChild('tcp'),
  ]);
  const { messages, totalBytes } = bare.ready;
  try {
    // Both gRPC consumers get the channel options a worker's loader client has (session.ts), so the
    // ratio measures what the loader adds over grpc-js, not a difference in transport settings.
    const channelOptions = { ...clientOptions(MAX), ...LOADER_CHANNEL_OPTIONS };
    const client = dataLoaderClient(`127.0.0.1:${loader.ready.port}`, channelOptions);
    const request = {
      jobId: 'bench',
      dataset: DATASET,
      split: 'SPLIT_TRAIN' as const,
      worldSize: 1,
      globalBatchSize: BATCH,
      seed: SEED,
    };
    // Sizes of the epochs the loader streams (warm-up rounds included), computed before timing.
    const expectedBytes: number[] = [];
    for (let epoch = 0; epoch < WARMUP_ROUNDS + runs; epoch++) expectedBytes.push(await epochBytes(epoch));
    const loaderOnce = async (round: number): Promise<number> => {
      const epoch = round + WARMUP_ROUNDS;
      let n = 0;
      let bytes = 0;
      for await (const b of streamBatches(client, { ...request, epoch })) {
        n++;
        bytes += b.wireBytes;
      }
      const expected = expectedBytes[epoch];
      if (n !== messages || bytes !== expected)
        throw new Error(
          `loader sent ${n} batches / ${bytes} bytes of epoch ${epoch}, expected ${messages} / ${expected}`,
        );
      return bytes;
    };

    const RawClient = makeGenericClientConstructor(RAW_SERVICE, 'Raw');
    const raw = new RawClient(
      `127.0.0.1:${bare.ready.port}`,
      credentials.createInsecure(),
      channelOptions,
    ) as unknown as {
      Stream(req: Buffer): ClientReadableStream<Buffer>;
      close(): void;
    };
    const bareOnce = (): Promise<number> =>
      new Promise<number>((resolve, reject) => {
        let bytes = 0;
        const call = raw.Stream(Buffer.alloc(0));
        call.on('data', (m: Buffer) => (bytes += m.length));
        call.on('error', reject);
        call.on('end', () =>
          bytes === totalBytes ? resolve(bytes) : reject(new Error(`bare grpc got ${bytes} bytes`)),
        );
      });

    const tcpOnce = (): Promise<number> =>
      new Promise<number>((resolve, reject) => {
        let bytes = 0;
        const sock = connect(tcp.ready.port, '127.0.0.1', () => sock.write('go'));
        sock.on('data', (chunk: Buffer) => (bytes += chunk.length));
        sock.on('error', reject);
        sock.on('end', () => {
          const payload = bytes - 4 * messages;
          if (payload === totalBytes) resolve(payload);
          else reject(new Error(`raw tcp got ${payload} bytes`));
        });
      });

    const m = await measure(runs, messages, {
      loader: { server: loader, once: loaderOnce },
      'bare grpc': { server: bare, once: bareOnce },
      'raw tcp': { server: tcp, once: tcpOnce },
    });
    client.close();
    raw.close();
    const l = m.loader as Measured;
    const g = m['bare grpc'] as Measured;
    const t = m['raw tcp'] as Measured;
    const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;
    const result = {
      loaderMBps: round(l.MBps, 1),
      bareGrpcMBps: round(g.MBps, 1),
      rawTcpMBps: round(t.MBps, 1),
      ratioToBareGrpc: round(l.MBps / g.MBps, 3),
      ratioToRawTcp: round(l.MBps / t.MBps, 3),
      // CPU and GC µs per message (medians): what each side costs, nearly independent of other load.
      loaderServerCpuUs: round(l.serverCpuUs, 0),
      loaderClientCpuUs: round(l.clientCpuUs, 0),
      loaderServerGcUs: round(l.serverGcUs, 0),
      loaderClientGcUs: round(l.clientGcUs, 0),
      bareGrpcServerCpuUs: round(g.serverCpuUs, 0),
      bareGrpcClientCpuUs: round(g.clientCpuUs, 0),
      bareGrpcServerGcUs: round(g.serverGcUs, 0),
      bareGrpcClientGcUs: round(g.clientGcUs, 0),
      rawTcpServerCpuUs: round(t.serverCpuUs, 0),
      rawTcpClientCpuUs: round(t.clientCpuUs, 0),
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      console.log(
        `Fashion-MNIST train, batch ${BATCH}: ${messages} messages, ${(totalBytes / 1e6).toFixed(1)} MB per epoch, median of ${runs}`,
      );
      const row = (path: string, x: Measured): Record<string, unknown> => ({
        path,
        'MB/s': round(x.MBps, 1),
        'loader ratio': round(l.MBps / x.MBps, 3),
        'server CPU µs/msg': round(x.serverCpuUs, 0),
        'server GC': round(x.serverGcUs, 0),
        'client CPU µs/msg': round(x.clientCpuUs, 0),
        'client GC': round(x.clientGcUs, 0),
      });
      console.table([
        row('data-loader (gRPC + decode)', l),
        row('bare grpc-js stream', g),
        row('raw loopback TCP', t),
      ]);
    }
  } finally {
    for (const c of [loader, bare, tcp]) {
      c.child.removeAllListeners('exit');
      c.child.kill('SIGTERM');
    }
  }
}

if (values.serve !== undefined) await serve(values.serve);
else await main();
