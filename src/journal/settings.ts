import { int, nonEmpty, num, oneOf } from '../core/settings.js';

/** The `journal` section of the configuration: where every verdict is kept, and for how long. */
export const journalSettings = {
  path: {
    doc: 'SQLite file every verdict is committed to before any sink sees it (created with its folder). MQTT publishes from it, OPC UA, the HTTP API and the web UI read their history from it.',
    format: nonEmpty('a file path'),
    default: 'var/journal.sqlite',
    env: 'INSPECTD_JOURNAL',
  },
  synchronous: {
    doc: 'normal: a verdict survives the process being killed at any moment (SIGKILL, crash); a power cut may lose the last second or so. full: it also survives a power cut, at the cost of one disk flush per verdict (docs/journal.md has both measured).',
    format: oneOf(['normal', 'full']),
    default: 'normal',
  },
  retainDays: {
    doc: 'Verdicts older than this are deleted (0 = no age limit), but those marked in the web UI review.',
    format: num(0, 36500),
    default: 90,
  },
  maxRows: {
    doc: 'At most this many verdicts are kept; the oldest go first, but those marked in the web UI review.',
    format: int(1000, 1_000_000_000),
    default: 5_000_000,
  },
  maxBytes: {
    doc: 'At most this many bytes of journal file; the oldest verdicts go first, but those marked in the web UI review.',
    format: int(1 << 20),
    default: 4 * 1024 ** 3,
  },
};
