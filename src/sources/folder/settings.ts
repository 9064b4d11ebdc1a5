import { bool, msToSec, nonEmpty, num, oneOf, renamed, required, seconds } from '../../core/settings.js';
import type { Group, Infer } from '../../core/settings.js';

const IN_SECONDS = 'in seconds, not milliseconds';

/** The `folder` source's settings. */
export const folderSettings = {
  dir: {
    doc: 'Folder to watch (new files, e.g. from an FTP upload) or to replay.',
    default: required<string>(),
    format: nonEmpty(),
  },
  mode: {
    doc: 'watch: each new complete file once; replay: the folder in name order at `fps`.',
    default: 'watch',
    format: oneOf(['watch', 'replay']),
  },
  fps: {
    doc: 'replay: frames per second; 0 = as fast as inspection goes.',
    default: 0,
    format: num(0, 1000),
  },
  loop: { doc: 'replay: start over at the end.', default: false, format: bool() },
  processExisting: {
    doc: 'watch: also inspect files already in the folder at start.',
    default: false,
    format: bool(),
  },
  settleSec: {
    doc: 'watch: a file is complete when its size and time have not changed for this long.',
    default: 0.5,
    format: seconds(0, 600),
  },
  pollSec: {
    doc: 'Rescan interval (watch: when file events are missed, e.g. on network shares; both: a missing folder).',
    default: 1,
    format: seconds(0.05, 600),
  },
  followLinksOutside: {
    doc: 'Read symbolic links that point outside the folder. Off: such a link is refused with a warning (a drop folder must not become a way to read any file of the box).',
    default: false,
    format: bool(),
  },
  settleMs: renamed('settleSec', msToSec, IN_SECONDS),
  pollMs: renamed('pollSec', msToSec, IN_SECONDS),
} satisfies Group;

export type FolderOptions = Infer<typeof folderSettings>;
