import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../packages/core/src/model/backend.ts';
import { conv2dFilterGradient } from '../packages/core/src/model/wasm-kernels.ts';
console.log(await selectBackend('wasm'));
function time(name: string, f: () => tf.Tensor, n = 20) {
  f().dispose();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) { const r = f(); r.dataSync(); r.dispose(); }
  console.log(name, ((performance.now() - t0) / n).toFixed(2), 'ms');
}
const x = tf.randomNormal([128, 784]); const w = tf.randomNormal([784, 256]); const dy = tf.randomNormal([128, 256]);
time('fwd x.w', () => tf.matMul(x, w));
time('dW xT.dy flag', () => tf.matMul(x, dy, true, false));
time('dW explicit', () => tf.tidy(() => tf.matMul(tf.transpose(x), dy)));
time('dx dy.wT flag', () => tf.matMul(dy, w, false, true));
time('transpose x', () => tf.transpose(x));
// conv
const xc = tf.randomNormal([128, 28, 28, 1]) as tf.Tensor4D; const dyc = tf.randomNormal([128, 26, 26, 32]) as tf.Tensor4D;
time('convfilt1', () => conv2dFilterGradient(xc, dyc, [3,3,1,32], 1, 'valid'), 5);
const xc2 = tf.randomNormal([128, 13, 13, 32]) as tf.Tensor4D; const dyc2 = tf.randomNormal([128, 11, 11, 64]) as tf.Tensor4D;
const f2 = tf.randomNormal([3,3,32,64]) as tf.Tensor4D;
time('conv2 fwd', () => tf.conv2d(xc2, f2, 1, 'valid'), 5);
time('convfilt2', () => conv2dFilterGradient(xc2, dyc2, [3,3,32,64], 1, 'valid'), 5);
time('conv2 dx', () => tf.conv2dTranspose(dyc2, f2, [128,13,13,32], 1, 'valid'), 5);
