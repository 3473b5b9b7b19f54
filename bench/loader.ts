/**
 * Loader throughput benchmark: MB/s of Fashion-MNIST train batches of 128 streamed to one consumer
 * (real DataLoaderService over loopback gRPC, client decoding with streamBatches) against two peers
 * measured in the same run, carrying the same bytes in the same number and size of messages:
 *   - bare grpc-js: a server stream of pre-built Buffers with identity (de)serializers, respecting
 *     write() backpressure, the consumer counting bytes (the least grpc-js needs to move them);
 *   - raw TCP: the same messages, length-prefixed, over a loopback net socket.
 * Each is warmed up, then run 5 times; the median counts.
 *
 *   node --import tsx bench/loader.ts [--json] [--runs N]
 */
import { createServer, connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { credentials, makeGenericClientConstructor, Server, ServerCredentials } from '@grpc/grpc-js';
import type { ServerWritableStream, ServiceDefinition, ClientReadableStream } from '@grpc/grpc-js';
import { clientOptions, dataLoaderClient } from '../packages/core/src/proto.ts';
import { epochOrder, stepsPerEpoch } from '../packages/core/src/batch-plan.ts';
import { loadDataset, streamBatches } from '../packages/core/src/datasets/index.ts';
import { encodeBatch, WIRE_DTYPE } from '../services/data-loader/src/batch-encoder.ts';
import { startLoaderServer } from '../services/data-loader/src/loader-service.ts';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, runs: { type: 'string', default: '5' } } });
const RUNS = Math.max(1, Number(values.runs));
const BATCH = 128;
const SEED = 1;
const MAX = 64 * 1024 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/**
 * Runs the contenders round-robin (one warm-up round, then `RUNS` rounds) so that machine noise
 * hits all of them alike; returns each one's median MB/s.
 */
async function measure(contenders: Record<string, () => Promise<number>>): Promise<Record<string, number>> {
  const names = Object.keys(contenders);
  const rates: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = -1; round < RUNS; round++) {
    for (const name of names) {
      const t0 = process.hrtime.bigint();
      const bytes = await (contenders[name] as () => Promise<number>)();
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (round >= 0) rates[name]?.push(bytes / 1e6 / s); // round -1 warms up JIT, connections, caches
    }
  }
  if (!values.json) for (const n of names) process.stderr.write(`${n}: ${(rates[n] ?? []).map((r) => r.toFixed(0)).join(' ')} MB/s\n`);
  return Object.fromEntries(names.map((n) => [n, median(rates[n] ?? [])]));
}

// The exact messages the loader sends for one epoch, so the peers carry the same bytes.
const ds = await loadDataset({ name: 'fashion-mnist' });
const order = epochOrder(ds.train.count, 'train', SEED, 0);
const steps = stepsPerEpoch(ds.train.count, BATCH);
const layout = { split: ds.train, featureShape: ds.featureShape, featureWireDType: WIRE_DTYPE.uint8, labelWireDType: WIRE_DTYPE.int32 };
const messages: Buffer[] = [];
for (let step = 0; step < steps; step++) {
  const n = Math.min(BATCH, ds.train.count - step * BATCH);
  messages.push(encodeBatch(layout, { epoch: 0, step, stepsInEpoch: steps, globalBatchSize: n, offset: 0 }, order, step * BATCH, n));
}
const totalBytes = messages.reduce((a, m) => a + m.length, 0);

// 1. The data-loader service.
const loader = await startLoaderServer({ maxMessageBytes: MAX });
const client = dataLoaderClient(loader.server.address);
const request = { jobId: 'bench', dataset: { name: 'fashion-mnist' }, split: 'SPLIT_TRAIN' as const, worldSize: 1, globalBatchSize: BATCH, seed: SEED };
const loaderOnce = async (): Promise<number> => {
  let n = 0;
  let bytes = 0;
  for await (const b of streamBatches(client, request)) {
    n++;
    bytes += b.features.data.byteLength;
  }
  if (n !== steps || bytes !== ds.train.features.byteLength) throw new Error(`loader sent ${n} batches / ${bytes} feature bytes`);
  return totalBytes;
};

// 2. Bare grpc-js server stream of the same Buffers.
const identity = (b: Buffer): Buffer => b;
const rawService: ServiceDefinition = {
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
const server = new Server({ 'grpc.max_send_message_length': MAX, 'grpc.max_receive_message_length': MAX });
server.addService(rawService, {
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
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
);
const RawClient = makeGenericClientConstructor(rawService, 'Raw');
const raw = new RawClient(`127.0.0.1:${port}`, credentials.createInsecure(), clientOptions(MAX)) as unknown as {
  Stream(req: Buffer): ClientReadableStream<Buffer>;
  close(): void;
};
const bareOnce = (): Promise<number> => new Promise<number>((resolve, reject) => {
  let bytes = 0;
  const call = raw.Stream(Buffer.alloc(0));
  call.on('data', (m: Buffer) => (bytes += m.length));
  call.on('error', reject);
  call.on('end', () => (bytes === totalBytes ? resolve(bytes) : reject(new Error(`bare grpc got ${bytes} bytes`))));
});

// 3. Raw loopback TCP, length-prefixed messages, with write backpressure.
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
const tcpPort = (tcp.address() as AddressInfo).port;
const tcpOnce = (): Promise<number> => new Promise<number>((resolve, reject) => {
  let bytes = 0;
  const sock = connect(tcpPort, '127.0.0.1', () => sock.write('go'));
  sock.on('data', (chunk: Buffer) => (bytes += chunk.length));
  sock.on('error', reject);
  sock.on('end', () => {
    const payload = bytes - 4 * messages.length;
    if (payload === totalBytes) resolve(payload);
    else reject(new Error(`raw tcp got ${payload} bytes`));
  });
});

const rates = await measure({ loader: loaderOnce, 'bare grpc': bareOnce, 'raw tcp': tcpOnce });
const loaderMBps = rates.loader as number;
const bareGrpcMBps = rates['bare grpc'] as number;
const rawTcpMBps = rates['raw tcp'] as number;
client.close();
await loader.shutdown(1_000);
raw.close();
server.forceShutdown();
tcp.close();

const result = {
  loaderMBps: Math.round(loaderMBps * 10) / 10,
  bareGrpcMBps: Math.round(bareGrpcMBps * 10) / 10,
  rawTcpMBps: Math.round(rawTcpMBps * 10) / 10,
  ratioToBareGrpc: Math.round((loaderMBps / bareGrpcMBps) * 1000) / 1000,
  ratioToRawTcp: Math.round((loaderMBps / rawTcpMBps) * 1000) / 1000,
};
if (values.json) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  console.log(`Fashion-MNIST train, batch ${BATCH}: ${steps} messages, ${(totalBytes / 1e6).toFixed(1)} MB per epoch, median of ${RUNS}`);
  console.table([
    { path: 'data-loader (gRPC + decode)', 'MB/s': result.loaderMBps, ratio: 1 },
    { path: 'bare grpc-js stream', 'MB/s': result.bareGrpcMBps, ratio: result.ratioToBareGrpc },
    { path: 'raw loopback TCP', 'MB/s': result.rawTcpMBps, ratio: result.ratioToRawTcp },
  ]);
}
