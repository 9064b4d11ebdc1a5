import { int, num, text } from '../../core/settings.js';

/** The `archive` section of the configuration. */
export const archiveSettings = {
  dir: {
    doc: 'Folder for archived frames (NG always, OK sampled); empty = no archive.',
    format: text(),
    default: 'var/archive',
    env: 'INSPECTD_ARCHIVE_DIR',
  },
  okSampleRate: {
    doc: 'Fraction of OK frames archived too (0 = none).',
    format: num(0, 1),
    default: 0,
  },
  maxFiles: {
    doc: 'Keep at most this many archived frames; the oldest go first.',
    format: int(0),
    default: 5000,
  },
  maxBytes: {
    doc: 'Keep at most this many bytes of archive; the oldest go first.',
    format: int(0),
    default: 2 * 1024 ** 3,
  },
};
