import { selectBackend } from '../packages/core/src/model/backend.ts';
import { trainReference } from '../packages/core/src/model/reference-loop.ts';
import { readFashionMnistSplit } from '../packages/core/src/model/fashion-mnist-fixture.ts';
import type { LayerSpec } from '../packages/core/src/job-spec.ts';
console.log(await selectBackend((process.argv[2] ?? 'wasm') as 'wasm'));
const train = readFashionMnistSplit('train'), test = readFashionMnistSplit('t10k');
const layers: LayerSpec[] = [ { type: 'dense', units: 256, activation: 'relu' }, { type: 'dropout', rate: 0.2 }, { type: 'dense', units: 128, activation: 'relu' }, { type: 'dense', units: 10 } ];
const r = trainReference({ layers, loss: 'softmaxCrossEntropy', optimizer: { type: 'adam', learningRate: 0.001 }, batchSize: 128, epochs: Number(process.argv[3] ?? 2), seed: 1, train, test, featureShape: [784], featureScale: 1 / 255, numClasses: 10, maxStepsPerEpoch: Number(process.argv[4] ?? Infinity) });
console.log(r.epochs);
