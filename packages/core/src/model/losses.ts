import * as tf from '@tensorflow/tfjs';
import type { LossName } from '../job-spec.ts';

/*
 * Losses over a batch. Conventions (the parameter server relies on them):
 *
 * - The training loss is the SUM over samples of the per-sample loss, never the mean: the parameter
 *   server sums gradients over ranks and divides by the total sample count.
 * - `softmaxCrossEntropy`: logits [n, k], integer labels [n] (class ids). Per-sample loss
 *   logsumexp(logits) - logits[label].
 * - `sigmoidCrossEntropy`: logits [n, k]; labels 0/1 of the same size ([n] when k = 1: binary).
 *   Per-sample loss is the MEAN over the k outputs of the element-wise (numerically stable)
 *   binary cross-entropy max(x, 0) - x*z + log(1 + exp(-|x|)), as Keras' `binary_crossentropy`.
 * - `meanSquaredError`: outputs [n, k]; targets [n, k] (or class ids [n], one-hot encoded when
 *   k > 1). Per-sample loss is the MEAN over the k outputs of the squared error; the batch loss is
 *   the sum of those over samples.
 */

/**
 * The labels tensor a loss wants, made from host labels: int32 [n] class ids for softmax cross
 * entropy; float32 [n, k] targets for the others (class ids one-hot encoded for MSE with k > 1).
 */
export function labelsTensor(
  loss: LossName,
  labels: Int32Array | Float32Array,
  count: number,
  outputs: number,
): tf.Tensor {
  return tf.tidy(() => {
    if (loss === 'softmaxCrossEntropy') {
      return tf.tensor1d(
        labels instanceof Int32Array ? labels.subarray(0, count) : Int32Array.from(labels.subarray(0, count)),
        'int32',
      );
    }
    if (outputs === 1 || labels.length >= count * outputs) {
      if (labels.length < count * outputs)
        throw new Error(`labels: ${labels.length} values for ${count} samples with ${outputs} outputs`);
      const f =
        labels instanceof Float32Array
          ? labels.subarray(0, count * outputs)
          : Float32Array.from(labels.subarray(0, count * outputs));
      return tf.tensor2d(f, [count, outputs], 'float32');
    }
    {
      // Fewer than n*k values: class ids for a k-output MSE or multi-output sigmoid: one-hot.
      const ids =
        labels instanceof Int32Array ? labels.subarray(0, count) : Int32Array.from(labels.subarray(0, count));
      if (ids.length < count) throw new Error(`labels: ${labels.length} values for ${count} samples`);
      return tf.oneHot(tf.tensor1d(ids, 'int32'), outputs).toFloat();
    }
  });
}

/** Softmax cross-entropy per sample with a fused gradient (softmax - onehot) * dy. */
const softmaxCe = tf.customGrad((logitsIn, oneHotIn, saveIn) => {
  const logits = logitsIn as tf.Tensor2D;
  const oneHot = oneHotIn as tf.Tensor2D;
  const save = saveIn as tf.GradSaveFunc;
  const lse = tf.logSumExp(logits, 1, true);
  const picked = tf.sum(tf.mul(logits, oneHot), 1);
  // Intermediates of the forward pass are disposed after it: keep what the gradient needs.
  save([logits, oneHot, lse]);
  return {
    value: tf.sub(tf.squeeze(lse, [1]), picked),
    gradFunc: (dyIn: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const dy = (Array.isArray(dyIn) ? dyIn[0] : dyIn) as tf.Tensor1D;
      const [l, y, m] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const probs = tf.exp(tf.sub(l, m));
      return [tf.mul(tf.sub(probs, y), tf.expandDims(dy, 1)), tf.zerosLike(y)];
    },
  };
});

function as2d(t: tf.Tensor): tf.Tensor2D {
  return (t.rank === 2 ? t : tf.reshape(t, [t.shape[0] ?? 0, -1])) as tf.Tensor2D;
}

/**
 * Per-sample losses [n] of `outputs` (logits for the cross-entropies) against `labels` made by
 * {@link labelsTensor}; the conventions are at the top of this file (mean over outputs, never over
 * samples).
 */
export function perSampleLoss(loss: LossName, outputs: tf.Tensor, labels: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const out = as2d(outputs);
    const k = out.shape[1];
    switch (loss) {
      case 'softmaxCrossEntropy': {
        const oneHot =
          labels.dtype === 'int32' && labels.rank === 1
            ? tf.oneHot(labels as tf.Tensor1D, k).toFloat()
            : as2d(labels);
        return softmaxCe(out, oneHot) as tf.Tensor1D;
      }
      case 'sigmoidCrossEntropy': {
        const z = as2d(labels).toFloat();
        const elementwise = tf.add(
          tf.sub(tf.relu(out), tf.mul(out, z)),
          tf.log1p(tf.exp(tf.neg(tf.abs(out)))),
        );
        return tf.mean(elementwise, 1) as tf.Tensor1D;
      }
      case 'meanSquaredError':
        return tf.mean(tf.squaredDifference(out, as2d(labels).toFloat()), 1) as tf.Tensor1D;
      default: {
        const bad: never = loss;
        throw new Error(`unknown loss ${String(bad)}`);
      }
    }
  });
}

/** The batch loss: sum over samples of {@link perSampleLoss} (a scalar). */
export function lossSum(loss: LossName, outputs: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(perSampleLoss(loss, outputs, labels)));
}
