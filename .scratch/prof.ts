import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../packages/core/src/model/backend.ts';
import { ModelRuntime } from '../packages/core/src/model/model-runtime.ts';
import { initialParameters } from '../packages/core/src/model/init.ts';
import { HostOptimizer } from '../packages/core/src/model/reference-loop.ts';
import type { LayerSpec } from '../packages/core/src/job-spec.ts';
console.log(await selectBackend((process.argv[2] ?? 'wasm') as 'wasm'));
const layers: LayerSpec[] = [ { type: 'dense', units: 256, activation: 'relu' }, { type: 'dropout', rate: 0.2 }, { type: 'dense', units: 128, activation: 'relu' }, { type: 'dense', units: 10 } ];
const rt = new ModelRuntime({ layers, loss: 'softmaxCrossEntropy', inputShape: [784], numClasses: 10, featureScale: 1/255 });
const params = initialParameters(rt.variables, 1); rt.setParameters(params);
const x = new Uint8Array(128*784).map(() => Math.random()*255); const y = new Int32Array(128).map(() => Math.floor(Math.random()*10));
const opt = new HostOptimizer({ type: 'adam', learningRate: 0.001 });
const T = { grad: 0, opt: 0, set: 0 }; const now = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
for (let i = 0; i < 60; i++) {
  if (i === 10) { T.grad = T.opt = T.set = 0; }
  let t = now(); const r = rt.computeGradients(x, [784], y, 128); T.grad += now() - t;
  t = now(); opt.apply(params, r.grads, 128); T.opt += now() - t;
  t = now(); rt.setParameters(params); T.set += now() - t;
}
console.log(Object.fromEntries(Object.entries(T).map(([k, v]) => [k, (v / 50).toFixed(2) + 'ms'])), tf.memory().numTensors);
// op-level profile
const prof = await tf.profile(() => { rt.computeGradients(x, [784], y, 128); });
const agg = new Map<string, number>();
for (const k of prof.kernels) agg.set(k.name, (agg.get(k.name) ?? 0) + (k.kernelTimeMs as number));
console.log([...agg].sort((a, b) => b[1] - a[1]).slice(0, 15));
for (const k of prof.kernels) if ((k.kernelTimeMs as number) > 0.3) console.log(k.name, (k.kernelTimeMs as number).toFixed(2), JSON.stringify(k.inputShapes), JSON.stringify(k.outputShapes));
