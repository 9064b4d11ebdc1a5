import { int } from '../core/settings.js';

/** The `eval` section of the configuration. */
export const evalSettings = {
  batchSize: {
    doc: "Images per model call while evaluating; a tiled recipe's image counts as its tiles.",
    format: int(1, 256),
    default: 16,
  },
  overlayCount: {
    doc: 'With --overlays: how many worst misses and how many worst false alarms to draw.',
    format: int(0, 10000),
    default: 8,
  },
};
