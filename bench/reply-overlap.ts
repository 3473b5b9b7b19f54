/**
 * What answering each part as soon as it is applied (issue #10 item 2) can gain on the ZeroMQ data
 * plane, measured before building it. A server child process holds the parts' parameters, Adam slots
 * and a staged gradient in one `OptimizerArena` (the shard's layout and kernel) behind a ROUTER; a
 * DEALER client in this process sends the gradient parts as frames and copies the parameters it gets
 * back into its own arrays (as `ParameterClient` does). Two reply forms, alternated round by round:
 *   - whole: stage + apply every part, then one multipart reply (what the shard does today);
 *   - per-part: stage + apply part i, then send part i as a message of its own at once (ZeroMQ sends
 *     it from its I/O thread while the next part is applied); the client copies each on arrival.
 * Layouts: the Fashion-MNIST MLP (6 parts, one of 802 KB), 1 MB in 1/4/16 parts, 16 MB in 4/16.
 *
 *   node --import tsx bench/reply-overlap.ts [--rounds N]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { OptimizerArena, applyGradients, compileOptimizer } from '@distrain/core/ps';
import { withServiceMallocSettings } from './common.ts';

withServiceMallocSettings();
const { values } = parseArgs({
  options: { serve: { type: 'boolean', default: false }, rounds: { type: 'string', default: '7' } },
});

const KB = 1024;
const MiB = 1024 * KB;
const split = (bytes: number, k: number): number[] => Array.from({ length: k }, () => bytes / 4 / k);
const LAYOUTS: { label: string; elements: number[]; perRound: number }[] = [
  { label: 'mlp 919KB/6', elements: [784 * 256, 256, 256 * 128, 128, 128 * 10, 10], perRound: 20 },
  { label: '1MB/1', elements: split(MiB, 1), perRound: 20 },
  { label: '1MB/4', elements: split(MiB, 4), perRound: 20 },
  { label: '1MB/16', elements: split(MiB, 16), perRound: 20 },
  { label: '16MB/4', elements: split(16 * MiB, 4), perRound: 3 },
  { label: '16MB/16', elements: split(16 * MiB, 16), perRound: 3 },
];

async function serve(): Promise<void> {
  const zmq = await import('zeromq');
  const router = new zmq.Router({ sendHighWaterMark: 0 });
  await router.bind('tcp://127.0.0.1:*');
  const settings = compileOptimizer({ type: 'adam', learningRate: 1e-3 });
  const jobs = LAYOUTS.map(({ elements }) => {
    const largest = Math.max(...elements);
    const total = elements.reduce((a, b) => a + b, 0);
    const arena = OptimizerArena.create(total * 4, elements.length * 4, largest) as OptimizerArena;
    return elements.map((n) => {
      const params = arena.alloc(n).fill(0.5);
      return { params, slots: [arena.alloc(n), arena.alloc(n)], staged: arena.alloc(n), arena };
    });
  });
  const steps = jobs.map(() => 0);
  // Sent at once, not chained: with no high-water mark a send never waits, so zeromq.js takes it
  // synchronously and its I/O thread transfers it while the next part is applied.
  const send = (frames: Buffer[]): void => {
    router.send(frames).catch((err: unknown) => {
      throw err;
    });
  };
  process.stdout.write(`${router.lastEndpoint}\n`);
  for await (const [identity, head, ...grads] of router) {
    const [layout, mode] = (head as Buffer).toString().split(':').map(Number) as [number, number];
    const parts = jobs[layout] as (typeof jobs)[number];
    const t = (steps[layout] ?? 0) + 1;
    steps[layout] = t;
    const out: Buffer[] = [identity as Buffer, head as Buffer];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as (typeof parts)[number];
      const g = grads[i] as Buffer;
      p.staged.set(new Float32Array(g.buffer, g.byteOffset, g.byteLength / 4));
      if (p.arena.hasNonFinite(p.staged)) throw new Error('non-finite');
      applyGradients(settings, p.params, p.slots, [p.staged], 1, t);
      const frame = Buffer.from(p.params.buffer, p.params.byteOffset, p.params.byteLength);
      if (mode === 1) send([identity as Buffer, head as Buffer, frame]);
      else out.push(frame);
    }
    if (mode === 0) send(out);
  }
}

async function client(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const endpoint = await new Promise<string>((resolve) =>
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  const zmq = await import('zeromq');
  const dealer = new zmq.Dealer({ sendHighWaterMark: 0 });
  dealer.connect(endpoint);
  const rounds = Number(values.rounds);
  const rows: Record<string, string | number>[] = [];
  for (const [li, layout] of LAYOUTS.entries()) {
    const grads = layout.elements.map((n) => Buffer.from(new Float32Array(n).fill(1e-3).buffer));
    const mine = layout.elements.map((n) => new Float32Array(n));
    const once = async (mode: number): Promise<number> => {
      const t0 = performance.now();
      await dealer.send([`${li}:${mode}`, ...grads]);
      if (mode === 0) {
        const [, ...frames] = await dealer.receive();
        for (let i = 0; i < mine.length; i++) {
          const f = frames[i] as Buffer;
          (mine[i] as Float32Array).set(new Float32Array(f.buffer, f.byteOffset, f.byteLength / 4));
        }
      } else {
        for (let i = 0; i < mine.length; i++) {
          const [, f] = (await dealer.receive()) as [Buffer, Buffer];
          (mine[i] as Float32Array).set(new Float32Array(f.buffer, f.byteOffset, f.byteLength / 4));
        }
      }
      return performance.now() - t0;
    };
    const times: number[][] = [[], []];
    for (let r = 0; r <= rounds; r++) {
      for (const mode of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const batch: number[] = [];
        for (let i = 0; i < layout.perRound; i++) batch.push(await once(mode));
        if (r > 0) (times[mode] as number[]).push(median(batch)); // round 0 warms up
      }
    }
    const whole = median(times[0] as number[]);
    const perPart = median(times[1] as number[]);
    rows.push({
      layout: layout.label,
      'whole ms': round(whole),
      'per-part ms': round(perPart),
      'gain ms': round(whole - perPart),
      'gain %': round((100 * (whole - perPart)) / whole),
    });
  }
  console.log(`PushPull round trip, Adam in the arena kernel; median of ${rounds} rounds`);
  console.table(rows);
  dealer.close();
  child.kill();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[s.length >> 1] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}
const round = (x: number): number => Math.round(x * 100) / 100;

await (values.serve ? serve() : client());
