import { int, num, oneOf, text } from '../../core/settings.js';

/** The `archive` section of the configuration. */
export const archiveSettings = {
  dir: {
    doc: 'Folder for archived frames (NG always, OK sampled); empty = no archive.',
    format: text(),
    default: 'var/archive',
    env: 'INSPECTD_ARCHIVE_DIR',
  },
  image: {
    doc: "Picture kept of each frame: camera = the camera's frame at its own size (gray stays gray), model = the recipe's input size; the heatmap (with region boxes) at the same size.",
    format: oneOf(['camera', 'model']),
    default: 'camera',
  },
  okSampleRate: {
    doc: 'Fraction of OK frames archived too (0 = none).',
    format: num(0, 1),
    default: 0,
  },
  maxFiles: {
    doc: 'Keep at most this many archived frames; the oldest go first, but those of verdicts marked in the web UI review.',
    format: int(0),
    default: 5000,
  },
  maxBytes: {
    doc: 'Keep at most this many bytes of archive; the oldest go first, but those of verdicts marked in the web UI review.',
    format: int(0),
    default: 2 * 1024 ** 3,
  },
};
