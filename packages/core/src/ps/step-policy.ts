import { decays } from './clip.ts';
import type { OptimizerSettings } from './optimizers.ts';
import { learningRateAt } from './schedule.ts';

/**
 * Per-update optimizer settings: the scheduled learning rate of update `t` and weight decay only
 * where its scope says (biases and normalization parameters are excluded by default). Two frozen
 * settings objects per update (with and without decay), so the step path allocates nothing per part.
 */
export class StepPolicy {
  private t = -1;
  private lr: number;
  private withDecay: OptimizerSettings;
  private withoutDecay: OptimizerSettings;

  constructor(readonly settings: OptimizerSettings) {
    this.lr = settings.learningRate;
    this.withDecay = settings;
    this.withoutDecay = settings;
    this.begin(0);
  }

  /** Selects update `t` (0-based: the update turning version t into t + 1); returns its learning rate. */
  begin(t: number): number {
    if (t === this.t) return this.lr;
    this.t = t;
    this.lr = learningRateAt(this.settings.learningRate, this.settings.schedule, t);
    this.withDecay = Object.freeze({ ...this.settings, learningRate: this.lr });
    this.withoutDecay = Object.freeze({ ...this.settings, learningRate: this.lr, weightDecay: 0 });
    return this.lr;
  }

  /** Learning rate of the selected update. */
  get learningRate(): number {
    return this.lr;
  }

  /** Settings for `variable` at the selected update. */
  settingsFor(variable: string): OptimizerSettings {
    return decays(variable, this.settings.weightDecayScope) ? this.withDecay : this.withoutDecay;
  }
}
