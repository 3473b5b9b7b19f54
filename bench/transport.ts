/**
 * Parameter-server transport benchmark: median PushPull round trip (1 rank, 1 shard) of a float32
 * gradient of 1 MB and 16 MB through distrain's real `ParameterClient` and a real parameter-server
 * process (services/parameter-server/src/main.ts), over the ZeroMQ data plane (the default, in its
 * zero-copy form: gradients and parameters as frames of their own; `ps-*`) and over gRPC
 * (`ps-sgd-grpc`, the fallback), against two peers measured in the same run that
 * carry the same bytes both ways in one request/response:
 *   - bare grpc-js: a unary call with identity (Buffer) serializers, the server answering with a
 *     pre-built Buffer of the same size: the least grpc-js needs to move the bytes;
 *   - raw TCP: length-prefixed request and response over one loopback net socket.
 * Every server runs in its own child process, the clients in this one. Contenders run round-robin
 * (a warm-up round, then several rounds of a few round trips each) so machine noise hits all of them
 * alike; the median round trip counts. The PS runs SGD (optimizer cost tiny) and, reported apart,
 * Adam.
 *
 *   node --import tsx bench/transport.ts [--json] [--quick] [--rounds N]
 *
 * `--json` prints one object per line:
 *   {"bench":"transport","metric":"pushpull_1MB_MBps","value":..,"unit":"MB/s","peer":"bare-grpc",
 *    "peerValue":..,"ratio":..}
 * where MB/s is gradient bytes (one direction) per second of round trip.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { credentials, makeGenericClientConstructor, Server, ServerCredentials } from '@grpc/grpc-js';
import type { ServerUnaryCall, sendUnaryData, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { clientOptions, generateToken, setDefaultClientSecurity } from '@distrain/core';
import { ParameterClient } from '@distrain/core/ps';
import type { OptimizerConfig } from '@distrain/core';
import type { VariableInfo } from '@distrain/core';
import { withServiceMallocSettings } from './common.ts';

// The shards require a deployment token: one per run, inherited by every child (shards and
// synthetic trainers), which this process and its children send as service callers.
process.env['DISTRAIN_AUTH_TOKEN'] ||= generateToken();
setDefaultClientSecurity({ token: process.env['DISTRAIN_AUTH_TOKEN'] });

withServiceMallocSettings();
const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    serve: { type: 'string' },
  },
});
const MAX = 64 * 1024 * 1024;
const MiB = 1024 * 1024;

/** Gradient sizes measured: label, bytes, variable shape, round trips per contender per round. */
const SIZES = [
  { label: '1MB', bytes: MiB, shape: [512, 512], perRound: 10 },
  { label: '16MB', bytes: 16 * MiB, shape: [4096, 1024], perRound: 2 },
] as const;

const identity = (b: Buffer): Buffer => b;
const ECHO_SERVICE: ServiceDefinition = {
  Echo: {
    path: '/bench.Raw/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** Child process: serve a bare-grpc or raw-tcp peer and print `{"port":N}`. */
async function serve(kind: string): Promise<void> {
  const replies = new Map<number, Buffer>(SIZES.map((s) => [s.bytes, Buffer.alloc(s.bytes, 7)]));
  let port: number;
  if (kind === 'bare') {
    const server = new Server({
      'grpc.max_send_message_length': MAX,
      'grpc.max_receive_message_length': MAX,
    });
    server.addService(ECHO_SERVICE, {
      Echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        const reply = replies.get(call.request.length);
        if (!reply) callback({ code: 3, details: `no reply of ${call.request.length} bytes` });
        else callback(null, reply);
      },
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
  } else {
    const tcp = createServer((sock: Socket) => {
      sock.setNoDelay(true);
      let head = 0; // length prefix read so far (4 bytes, big-endian, possibly split over chunks)
      let headBytes = 0;
      let need = 0; // body bytes still to come
      sock.on('data', (chunk: Buffer) => {
        let at = 0;
        while (at < chunk.length) {
          if (headBytes < 4) {
            head = head * 256 + (chunk[at++] as number);
            if (++headBytes === 4) need = head;
            if (headBytes < 4 || need > 0) continue;
          }
          const take = Math.min(need, chunk.length - at);
          need -= take;
          at += take;
          if (need === 0) {
            const body = replies.get(head) ?? Buffer.alloc(head);
            const prefix = Buffer.allocUnsafe(4);
            prefix.writeUInt32BE(body.length);
            sock.write(prefix);
            sock.write(body);
            head = 0;
            headBytes = 0;
          }
        }
      });
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    port = (tcp.address() as AddressInfo).port;
  }
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0)); // the parent went away
}

function startChild(
  args: string[],
  portOf: (line: string) => number | undefined,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const port = portOf(line);
      if (port !== undefined) resolve({ child, port });
    });
  });
}

function jsonPort(line: string): number | undefined {
  try {
    const v = JSON.parse(line) as { port?: unknown; event?: unknown };
    return typeof v.port === 'number' ? v.port : undefined;
  } catch {
    return undefined;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

type Contender = () => Promise<void>;

/** Round-robin rounds (one warm-up round); each contender's median round trip in ms. */
async function measure(
  rounds: number,
  perRound: number,
  contenders: Record<string, Contender>,
): Promise<Record<string, number>> {
  const names = Object.keys(contenders);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = -1; round < rounds; round++) {
    for (const name of names) {
      const once = contenders[name] as Contender;
      for (let k = 0; k < perRound; k++) {
        const t0 = process.hrtime.bigint();
        await once();
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (round >= 0) times[name]?.push(ms);
      }
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(times[n] ?? [])]));
}

async function main(): Promise<void> {
  const rounds = Number(values.rounds ?? (values.quick ? 3 : 9));
  const psMain = fileURLToPath(new URL('../services/parameter-server/src/main.ts', import.meta.url));
  const self = fileURLToPath(import.meta.url);
  const [ps, bare, tcp] = await Promise.all([
    startChild([psMain, '--log-level', 'warn'], jsonPort),
    startChild([self, '--serve', 'bare'], jsonPort),
    startChild([self, '--serve', 'tcp'], jsonPort),
  ]);
  const EchoClient = makeGenericClientConstructor(ECHO_SERVICE, 'Raw');
  const echo = new EchoClient(
    `127.0.0.1:${bare.port}`,
    credentials.createInsecure(),
    clientOptions(MAX),
  ) as unknown as {
    Echo(req: Buffer, cb: (err: ServiceError | null, res?: Buffer) => void): void;
    close(): void;
  };
  const sock = await new Promise<Socket>((resolve, reject) => {
    const s = connect(tcp.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  sock.setNoDelay(true);
  const lines: string[] = [];
  const table: Record<string, unknown>[] = [];
  try {
    for (const size of SIZES) {
      const variables: VariableInfo[] = [
        {
          name: 'dense/kernel',
          shape: [...size.shape],
          initializer: 'glorotUniform',
          fanIn: size.shape[0],
          fanOut: size.shape[1],
          trainable: true,
        },
      ];
      const grad = new Float32Array(size.bytes / 4).fill(1e-3);
      const grads = new Map([['dense/kernel', grad]]);
      const psClient = (
        jobId: string,
        optimizer: OptimizerConfig,
        dataPlane: 'zmq' | 'grpc' = 'zmq',
      ): { c: ParameterClient; init: Promise<unknown> } => {
        const c = new ParameterClient({
          jobId,
          shardAddresses: [`127.0.0.1:${ps.port}`],
          variables,
          channelOptions: clientOptions(MAX),
          dataPlane,
        });
        return {
          c,
          init: c.init({ seed: 1, optimizer, worldSize: 1, stepsPerEpoch: 1_000_000 }),
        };
      };
      const sgd = psClient(`bench-sgd-${size.label}`, { type: 'sgd', learningRate: 1e-3 });
      const adam = psClient(`bench-adam-${size.label}`, { type: 'adam', learningRate: 1e-3 });
      const sgdGrpc = psClient(`bench-sgd-grpc-${size.label}`, { type: 'sgd', learningRate: 1e-3 }, 'grpc');
      await Promise.all([sgd.init, adam.init, sgdGrpc.init]);
      if ((await sgd.c.transports())[0] !== 'zmq') throw new Error('the shard serves no zmq data plane');
      const steps = { sgd: 0, adam: 0, sgdGrpc: 0 };
      const request = Buffer.alloc(size.bytes, 3);
      const contenders: Record<string, Contender> = {
        'ps-sgd': async () => {
          const r = await sgd.c.pushPull({ rank: 0, step: steps.sgd++, sampleCount: 1, grads, lossSum: 0 });
          if (r.version !== steps.sgd) throw new Error(`ps answered version ${r.version}`);
        },
        'ps-sgd-grpc': async () => {
          const r = await sgdGrpc.c.pushPull({
            rank: 0,
            step: steps.sgdGrpc++,
            sampleCount: 1,
            grads,
            lossSum: 0,
          });
          if (r.version !== steps.sgdGrpc) throw new Error(`ps answered version ${r.version}`);
        },
        'ps-adam': async () => {
          const r = await adam.c.pushPull({ rank: 0, step: steps.adam++, sampleCount: 1, grads, lossSum: 0 });
          if (r.version !== steps.adam) throw new Error(`ps answered version ${r.version}`);
        },
        'bare-grpc': () =>
          new Promise<void>((resolve, reject) =>
            echo.Echo(request, (err, res) =>
              err ? reject(err) : res?.length === size.bytes ? resolve() : reject(new Error('short reply')),
            ),
          ),
        'raw-tcp': () =>
          new Promise<void>((resolve, reject) => {
            let want = -1;
            let got = 0;
            const head: Buffer[] = [];
            const onData = (chunk: Buffer): void => {
              got += chunk.length;
              if (want < 0) {
                head.push(chunk);
                const all = Buffer.concat(head);
                if (all.length < 4) return;
                want = all.readUInt32BE(0) + 4;
              }
              if (got >= want) {
                sock.off('data', onData);
                sock.off('error', reject);
                if (got === want) resolve();
                else reject(new Error(`raw tcp got ${got} bytes, expected ${want}`));
              }
            };
            sock.on('data', onData);
            sock.once('error', reject);
            const prefix = Buffer.allocUnsafe(4);
            prefix.writeUInt32BE(size.bytes);
            sock.write(prefix);
            sock.write(request);
          }),
      };
      const ms = await measure(
        rounds,
        values.quick ? Math.max(1, size.perRound / 2) : size.perRound,
        contenders,
      );
      sgd.c.close();
      adam.c.close();
      sgdGrpc.c.close();
      const mbps = (name: string): number => size.bytes / 1e6 / ((ms[name] as number) / 1000);
      for (const [metric, who] of [
        [`pushpull_${size.label}_MBps`, 'ps-sgd'],
        [`pushpull_adam_${size.label}_MBps`, 'ps-adam'],
        [`pushpull_grpc_${size.label}_MBps`, 'ps-sgd-grpc'],
      ] as const) {
        for (const peer of ['bare-grpc', 'raw-tcp'] as const) {
          lines.push(
            JSON.stringify({
              bench: 'transport',
              metric,
              value: round1(mbps(who)),
              unit: 'MB/s',
              peer,
              peerValue: round1(mbps(peer)),
              ratio: Math.round((mbps(who) / mbps(peer)) * 1000) / 1000,
            }),
          );
        }
      }
      for (const name of Object.keys(contenders)) {
        table.push({
          size: size.label,
          path: name,
          'median ms': Math.round((ms[name] as number) * 100) / 100,
          'MB/s': round1(mbps(name)),
          'vs bare grpc': Math.round((mbps(name) / mbps('bare-grpc')) * 1000) / 1000,
        });
      }
    }
  } finally {
    echo.close();
    sock.destroy();
    for (const c of [ps, bare, tcp]) {
      c.child.removeAllListeners('exit');
      c.child.kill('SIGTERM');
    }
  }
  if (values.json) for (const l of lines) process.stdout.write(`${l}\n`);
  else {
    console.log(`PushPull round trip, 1 rank, 1 shard; median of ${rounds} rounds`);
    console.table(table);
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

if (values.serve !== undefined) await serve(values.serve);
else await main();
