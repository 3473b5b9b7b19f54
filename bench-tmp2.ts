import { loadDataset, toDataBatch } from './packages/core/src/datasets/index.ts';
import { epochOrder } from './packages/core/src/batch-plan.ts';
import { distrainProto } from './packages/core/src/proto.ts';
import { encodeBatch, PendingBatch, serializePending, WIRE_DTYPE } from './services/data-loader/src/batch-encoder.ts';
import type { StreamBatchesResponse__Output } from './packages/core/src/generated/distrain/v1/StreamBatchesResponse.ts';
const ds = await loadDataset({ name: 'fashion-mnist' });
const order = epochOrder(60000, 'train', 1, 0);
const layout = { split: ds.train, featureShape: [28, 28, 1], featureWireDType: WIRE_DTYPE.uint8, labelWireDType: WIRE_DTYPE.int32, source: Buffer.from(ds.train.features.buffer, ds.train.features.byteOffset, ds.train.features.byteLength) };
const des = distrainProto().DataLoaderService.service.StreamBatches!.responseDeserialize;
const msgs: Buffer[] = [];
for (let s = 0; s < 469; s++) { const n = Math.min(128, 60000 - s * 128); msgs.push(encodeBatch(layout, { epoch: 0, step: s, stepsInEpoch: 469, globalBatchSize: n, offset: 0 }, order, s * 128, n)); }
function t(name: string, f: () => void) { for (let w = 0; w < 3; w++) f(); const r: number[] = []; for (let i = 0; i < 9; i++) { const a = performance.now(); f(); r.push((performance.now() - a) * 1000 / 469); } r.sort((a, b) => a - b); console.log(name.padEnd(12), r[4]!.toFixed(1), 'us/msg'); }
t('encode', () => { for (let s = 0; s < 469; s++) { const n = Math.min(128, 60000 - s * 128); encodeBatch(layout, { epoch: 0, step: s, stepsInEpoch: 469, globalBatchSize: n, offset: 0 }, order, s * 128, n); } });
t('pending', () => { for (let s = 0; s < 469; s++) { const n = Math.min(128, 60000 - s * 128); serializePending(new PendingBatch(layout, { epoch: 0, step: s, stepsInEpoch: 469, globalBatchSize: n, offset: 0 }, order, s * 128, n)); } });
t('copy100k', () => { for (let s = 0; s < 469; s++) { const b = Buffer.allocUnsafe(msgs[s]!.length + 5); msgs[s]!.copy(b, 5); } });
t('pbdecode', () => { for (const m of msgs) des(m); });
t('toDataBatch', () => { for (const m of msgs) toDataBatch(des(m) as StreamBatchesResponse__Output); });
const u8 = new Uint8Array(ds.train.features.buffer, ds.train.features.byteOffset, ds.train.features.byteLength);
const scratch = Buffer.allocUnsafeSlow(200000);
const su8 = new Uint8Array(scratch.buffer, scratch.byteOffset, scratch.length);
t('gather-buf', () => { for (let s = 0; s < 469; s++) for (let k = 0; k < 128; k++) { const i = order[(s * 128 + k) % 60000]! * 784; scratch.set(layout.source.subarray(i, i + 784), k * 784); } });
t('gather-u8', () => { for (let s = 0; s < 469; s++) for (let k = 0; k < 128; k++) { const i = order[(s * 128 + k) % 60000]! * 784; su8.set(u8.subarray(i, i + 784), k * 784); } });
t('gather-cw', () => { for (let s = 0; s < 469; s++) for (let k = 0; k < 128; k++) { const i = order[(s * 128 + k) % 60000]! * 784; su8.copyWithin; scratch.copy; layout.source.copy(scratch, k * 784, i, i + 784); } });
t('labels', () => { const lab = ds.train.labels; for (let s = 0; s < 469; s++) for (let k = 0; k < 128; k++) scratch.writeInt32LE(lab[order[(s * 128 + k) % 60000]!]!, k * 4); });
t('labels-dv', () => { const lab = ds.train.labels; const dv = new DataView(scratch.buffer, scratch.byteOffset, 1000); for (let s = 0; s < 469; s++) for (let k = 0; k < 128; k++) dv.setInt32(k * 4, lab[order[(s * 128 + k) % 60000]!]!, true); });
