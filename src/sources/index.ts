import type { Logger } from 'pino';
import { checks, type OptionSpecs } from '../config/options.js';
import type { FrameSource } from '../core/frame.js';
import { FolderSource, type FolderSourceOptions } from './folder/folderSource.js';
import { gigeOptionSpecs, type GigeCameraConfig } from './gige/gigeOptions.js';
import { GigeSource } from './gige/gigeSource.js';
import { rtspOptionSpecs, type RtspOptions } from './rtsp/options.js';
import { RtspSource } from './rtsp/rtspSource.js';
import { SimSource } from './sim/simSource.js';

type FolderOptions = Omit<FolderSourceOptions, 'id'>;
interface SimOptions {
  width: number;
  height: number;
  fps: number;
  defectRate: number;
  seed: number;
}

interface SourceKind<O> {
  options: OptionSpecs<O>;
  /** Queue policy when the camera does not set one: files must not be lost, live frames may be. */
  defaultDropPolicy: 'drop-oldest' | 'wait';
  create(id: string, options: O, log: Logger): FrameSource;
}

const folder: SourceKind<FolderOptions> = {
  options: {
    dir: {
      doc: 'Folder to watch (new files, e.g. from an FTP upload) or to replay.',
      default: '',
      check: checks.nonEmptyString(),
    },
    mode: {
      doc: 'watch: each new complete file once; replay: the folder in name order at `fps`.',
      default: 'watch',
      check: checks.oneOf(['watch', 'replay']),
    },
    fps: {
      doc: 'replay: frames per second; 0 = as fast as inspection goes.',
      default: 0,
      check: checks.number(0, 1000),
    },
    loop: { doc: 'replay: start over at the end.', default: false, check: checks.bool() },
    processExisting: {
      doc: 'watch: also inspect files already in the folder at start.',
      default: false,
      check: checks.bool(),
    },
    settleMs: {
      doc: 'watch: a file is complete when its size and time have not changed for this long.',
      default: 500,
      check: checks.int(0, 600_000),
    },
    pollMs: {
      doc: 'watch: rescan interval (when file events are missed, e.g. on network shares).',
      default: 1000,
      check: checks.int(50, 600_000),
    },
  },
  defaultDropPolicy: 'wait',
  create: (id, o, log) => new FolderSource({ id, ...o }, log),
};

const sim: SourceKind<SimOptions> = {
  options: {
    width: { doc: 'Frame width in pixels.', default: 256, check: checks.int(32, 8192) },
    height: { doc: 'Frame height in pixels.', default: 256, check: checks.int(32, 8192) },
    fps: {
      doc: 'Frames per second; 0 = as fast as inspection goes.',
      default: 5,
      check: checks.number(0, 1000),
    },
    defectRate: {
      doc: 'Fraction of frames with an injected defect (labelled).',
      default: 0.2,
      check: checks.number(0, 1),
    },
    seed: {
      doc: 'Seed: the same seed gives the same frames.',
      default: 1,
      check: checks.int(0, 2 ** 31 - 1),
    },
  },
  defaultDropPolicy: 'drop-oldest',
  create: (id, o, log) => new SimSource({ id, ...o }, log),
};

const gige: SourceKind<GigeCameraConfig> = {
  options: gigeOptionSpecs,
  defaultDropPolicy: 'drop-oldest',
  create: (id, o, log) => new GigeSource({ id, ...o }, log),
};

const rtsp: SourceKind<RtspOptions> = {
  options: rtspOptionSpecs,
  defaultDropPolicy: 'drop-oldest',
  create: (id, o, log) => new RtspSource({ id, ...o }, log),
};

/** Every source type, by the `type` of a camera's `source` (explicit registration, no discovery). */
export const sourceKinds: Record<string, SourceKind<never>> = {
  folder,
  sim,
  gige,
  rtsp,
} as unknown as Record<string, SourceKind<never>>;
