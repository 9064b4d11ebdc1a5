import { int, num } from '../core/settings.js';

/** The `fit` section of the configuration: defaults of the fit methods' flags and what no flag sets. */
export const fitSettings = {
  eps: {
    doc: 'Gaussian recipes: eps added to the covariance diagonal (PaDiM uses 0.01).',
    format: num(0, 1e6, true),
    default: 0.01,
  },
  batchSize: {
    doc: 'Images per model call while fitting. Larger batches amortize the per-batch covariance update (64: about 1.8x faster than 16 at 224x224). With --tile an image counts as its tiles.',
    format: int(1, 256),
    default: 64,
  },
  minImages: {
    doc: 'Fewest good images a fit accepts: fewer cannot give a stable per-position covariance.',
    format: int(1, 100000),
    default: 16,
  },
  blurSigma: {
    doc: 'Sigma (in pixels of the input image) of the Gaussian blur on anomaly maps; 0 = none. PaDiM uses 4.',
    format: num(0, 64),
    default: 4,
  },
  channelSeed: {
    doc: 'Seed of the random channel subset (--channels), so a refit picks the same channels.',
    format: int(-(2 ** 31), 2 ** 31 - 1),
    default: 7,
  },
};
