import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../packages/core/src/model/backend.ts';
import { conv2dFilterGradient } from '../packages/core/src/model/wasm-kernels.ts';
await selectBackend('wasm');
function time(name: string, f: () => tf.Tensor, n = 5) {
  f().dispose();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) { const r = f(); r.dataSync(); r.dispose(); }
  console.log(name, ((performance.now() - t0) / n).toFixed(2), 'ms');
}
function im2colFilt(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number) {
  return tf.tidy(() => {
    const [n, , , cin] = x.shape; const [, ho, wo, cout] = dy.shape;
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) parts.push(tf.slice(x, [0, i, j, 0], [n, ho, wo, cin]));
    const p = tf.concat(parts, 3).reshape([n * ho * wo, kh * kw * cin]);
    return tf.matMul(tf.transpose(p), dy.reshape([n * ho * wo, cout])).reshape([kh, kw, cin, cout]);
  });
}
function im2colFwd(x: tf.Tensor4D, w: tf.Tensor4D) {
  return tf.tidy(() => {
    const [n, h, wd, cin] = x.shape; const [kh, kw, , cout] = w.shape; const ho = h - kh + 1, wo = wd - kw + 1;
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) parts.push(tf.slice(x, [0, i, j, 0], [n, ho, wo, cin]));
    const p = tf.concat(parts, 3).reshape([n * ho * wo, kh * kw * cin]);
    return tf.matMul(p, w.reshape([kh * kw * cin, cout])).reshape([n, ho, wo, cout]);
  });
}
for (const [x, dy, f] of [[[128,28,28,1],[128,26,26,32],[3,3,1,32]],[[128,13,13,32],[128,11,11,64],[3,3,32,64]]] as const) {
  const xc = tf.randomNormal([...x]) as tf.Tensor4D, dyc = tf.randomNormal([...dy]) as tf.Tensor4D, fc = tf.randomNormal([...f]) as tf.Tensor4D;
  time('fwd conv ' + x, () => tf.conv2d(xc, fc, 1, 'valid'));
  time('fwd im2col', () => im2colFwd(xc, fc));
  time('filt dil-conv', () => conv2dFilterGradient(xc, dyc, [...f], 1, 'valid'));
  time('filt im2col', () => im2colFilt(xc, dyc, 3, 3));
  time('dx via conv', () => tf.tidy(() => tf.conv2d(tf.pad(dyc, [[0,0],[2,2],[2,2],[0,0]]), tf.transpose(tf.reverse(fc, [0,1]), [0,1,3,2]), 1, 'valid')));
  const a = conv2dFilterGradient(xc, dyc, [...f], 1, 'valid'), b = im2colFilt(xc, dyc, 3, 3);
  console.log('maxdiff', tf.max(tf.abs(tf.sub(a, b))).dataSync()[0], tf.max(tf.abs(a)).dataSync()[0]);
}
