import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../packages/core/src/model/backend.ts';
await selectBackend('wasm');
function time(name: string, f: () => tf.Tensor, n = 20) {
  f().dispose();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) { const r = f(); r.dataSync(); r.dispose(); }
  console.log(name, ((performance.now() - t0) / n).toFixed(2), 'ms');
}
const x = tf.tensor(new Float32Array(128*784).map(() => Math.random() < 0.5 ? 0 : Math.floor(Math.random()*255)/255), [128, 784]);
const g = tf.tensor(new Float32Array(128*256).map(() => Math.random() < 0.5 ? 0 : (Math.random()-0.5)*1e-2), [128, 256]);
time('tx.g', () => tf.tidy(() => tf.matMul(tf.transpose(x), g)));
time('(tg.x)T', () => tf.tidy(() => tf.transpose(tf.matMul(tf.transpose(g), x))));
time('tx.g fresh', () => tf.tidy(() => tf.matMul(tf.transpose(tf.add(x, 0)), tf.add(g, 0))));
time('(tg.x)T fresh', () => tf.tidy(() => tf.transpose(tf.matMul(tf.transpose(tf.add(g, 0)), tf.add(x, 0)))));
