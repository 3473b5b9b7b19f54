import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../packages/core/src/model/backend.ts';
await selectBackend('wasm');
function time(name: string, f: () => tf.Tensor, n = 10) {
  f().dispose();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) { const r = f(); r.dataSync(); r.dispose(); }
  console.log(name, ((performance.now() - t0) / n).toFixed(2), 'ms');
}
const xs = tf.randomNormal([784, 128]); const dys = tf.randomNormal([128, 256]);
time('same tensors', () => tf.matMul(xs, dys));
time('fresh b', () => tf.tidy(() => tf.matMul(xs, tf.add(dys, 0))));
time('fresh a', () => tf.tidy(() => tf.matMul(tf.add(xs, 0), dys)));
const xz = tf.tensor(new Float32Array(784*128).map(() => Math.random() < 0.5 ? 0 : Math.random()), [784, 128]);
time('sparse a', () => tf.matMul(xz, dys));
const small = tf.mul(dys, 1e-30);
time('tiny b', () => tf.matMul(xs, small));
const small2 = tf.mul(dys, 1e-3);
time('1e-3 b', () => tf.matMul(xs, small2));
