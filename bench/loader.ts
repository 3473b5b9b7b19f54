/**
 * Loader throughput benchmark: MB/s of one epoch of Fashion-MNIST train batches of 128 streamed to
 * one consumer, against two peers measured in the same run that carry the same bytes in the same
 * number and size of messages:
 *   - loader: the real DataLoaderService (gather + encode per batch) over loopback gRPC, consumed
 *     with `streamBatches` (decoding every batch into tensors);
 *   - bare grpc-js: a server stream of pre-built Buffers with identity (de)serializers that respects
 *     write() backpressure, the consumer only counting bytes: the least grpc-js needs to move them;
 *   - raw TCP: the same messages, length-prefixed, over a loopback net socket, with backpressure.
 * Every server runs in its own child process, as the data-loader does when deployed, and the
 * consumer in this one. Contenders run round-robin (a warm-up round, then `--runs` rounds) so
 * machine noise hits all of them alike; the median counts.
 *
 *   node --import tsx bench/loader.ts [--json] [--runs N]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { credentials, makeGenericClientConstructor, Server, ServerCredentials } from '@grpc/grpc-js';
import type { ServerWritableStream, ServiceDefinition, ClientReadableStream } from '@grpc/grpc-js';
import { clientOptions, dataLoaderClient } from '@distrain/core';
import { epochOrder, stepsPerEpoch } from '@distrain/core';
import { loadDataset, streamBatches } from '@distrain/core/datasets';
import { encodeBatch, featureSource, WIRE_DTYPE } from '../services/data-loader/src/batch-encoder.ts';
import { startLoaderServer } from '../services/data-loader/src/loader-service.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    runs: { type: 'string', default: '5' },
    serve: { type: 'string' },
  },
});
const BATCH = 128;
const SEED = 1;
const MAX = 64 * 1024 * 1024;
const DATASET = { name: 'fashion-mnist' };

/** What a server child reports on its first stdout line. */
interface Ready {
  port: number;
  messages: number;
  totalBytes: number;
}

/** The exact messages the loader sends for epoch 0, so the peers carry the same bytes. */
async function loaderMessages(): Promise<Buffer[]> {
  const ds = await loadDataset(DATASET);
  const order = epochOrder(ds.train.count, 'train', SEED, 0);
  const steps = stepsPerEpoch(ds.train.count, BATCH);
  const layout = {
    split: ds.train,
    featureShape: ds.featureShape,
    featureWireDType: WIRE_DTYPE.uint8,
    labelWireDType: WIRE_DTYPE.int32,
    source: featureSource(ds.train),
  };
  const out: Buffer[] = [];
  for (let step = 0; step < steps; step++) {
    const n = Math.min(BATCH, ds.train.count - step * BATCH);
    out.push(
      encodeBatch(
        layout,
        { epoch: 0, step, stepsInEpoch: steps, globalBatchSize: n, offset: 0 },
        order,
        step * BATCH,
        n,
      ),
    );
  }
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
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0)); // the parent went away
}

function startChild(kind: string): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', kind],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) =>
      resolve({ child, ready: JSON.parse(line) as Ready }),
    );
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Runs the contenders round-robin (one warm-up round, then `runs` rounds); each one's median MB/s. */
async function measure(
  runs: number,
  contenders: Record<string, () => Promise<number>>,
): Promise<Record<string, number>> {
  const names = Object.keys(contenders);
  const rates: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = -1; round < runs; round++) {
    for (const name of names) {
      const t0 = process.hrtime.bigint();
      const bytes = await (contenders[name] as () => Promise<number>)();
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (round >= 0) rates[name]?.push(bytes / 1e6 / s); // round -1 warms up JIT, connections, caches
    }
  }
  if (!values.json)
    for (const n of names)
      process.stderr.write(`${n}: ${(rates[n] ?? []).map((r) => r.toFixed(0)).join(' ')} MB/s\n`);
  return Object.fromEntries(names.map((n) => [n, median(rates[n] ?? [])]));
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
    const client = dataLoaderClient(`127.0.0.1:${loader.ready.port}`, clientOptions(MAX));
    const request = {
      jobId: 'bench',
      dataset: DATASET,
      split: 'SPLIT_TRAIN' as const,
      worldSize: 1,
      globalBatchSize: BATCH,
      seed: SEED,
    };
    const loaderOnce = async (): Promise<number> => {
      let n = 0;
      let bytes = 0;
      for await (const b of streamBatches(client, request)) {
        n++;
        bytes += b.wireBytes;
      }
      if (n !== messages || bytes !== totalBytes)
        throw new Error(`loader sent ${n} batches / ${bytes} bytes, expected ${messages} / ${totalBytes}`);
      return bytes;
    };

    const RawClient = makeGenericClientConstructor(RAW_SERVICE, 'Raw');
    const raw = new RawClient(
      `127.0.0.1:${bare.ready.port}`,
      credentials.createInsecure(),
      clientOptions(MAX),
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

    const rates = await measure(runs, { loader: loaderOnce, 'bare grpc': bareOnce, 'raw tcp': tcpOnce });
    client.close();
    raw.close();
    const loaderMBps = rates.loader as number;
    const bareGrpcMBps = rates['bare grpc'] as number;
    const rawTcpMBps = rates['raw tcp'] as number;
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
      console.log(
        `Fashion-MNIST train, batch ${BATCH}: ${messages} messages, ${(totalBytes / 1e6).toFixed(1)} MB per epoch, median of ${runs}`,
      );
      console.table([
        { path: 'data-loader (gRPC + decode)', 'MB/s': result.loaderMBps, 'loader ratio': 1 },
        { path: 'bare grpc-js stream', 'MB/s': result.bareGrpcMBps, 'loader ratio': result.ratioToBareGrpc },
        { path: 'raw loopback TCP', 'MB/s': result.rawTcpMBps, 'loader ratio': result.ratioToRawTcp },
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
