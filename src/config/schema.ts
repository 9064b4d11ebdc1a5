import type { DropPolicy } from '../core/boundedQueue.js';
import { custom, int, name, num, oneOf, seconds, text, type Infer } from '../core/settings.js';
import { evalSettings } from '../eval/settings.js';
import { fitSettings } from '../fit/settings.js';
import { journalSettings } from '../journal/settings.js';
import { sinkSettings } from '../sinks/index.js';
import { camerasSetting, cameraSettings } from './cameras.js';

/**
 * The execution providers onnxruntime can be asked for (the table is src/inference/providers.ts, which config
 * may not import; the compiler checks the two agree where the daemon passes this list to loadSession).
 */
const PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const;
type Provider = (typeof PROVIDERS)[number];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Every setting of inspectd: the root sections here, each camera's in cameras.ts (its source's beside each
 * source kind), each sink's beside the sink kind. docs/CONFIG.md is generated from it (`inspectd config-doc`).
 */
export const schema = {
  version: {
    doc: 'Configuration format version; lets future releases migrate old files.',
    format: custom<1>('1', 'number', (v) => v === 1),
    default: 1,
  },
  log: {
    level: {
      doc: 'Least severe log level written.',
      format: oneOf(LOG_LEVELS),
      default: 'info',
      env: 'INSPECTD_LOG_LEVEL',
    },
    pretty: {
      doc: 'Human-readable logs: auto = when writing to a terminal; JSON otherwise.',
      format: oneOf(['auto', 'always', 'never']),
      default: 'auto',
      env: 'INSPECTD_LOG_PRETTY',
    },
  },
  inference: {
    providers: {
      doc: 'onnxruntime execution providers to try, in order: cuda (NVIDIA, needs scripts/install-cuda-provider.sh), webgpu (any Vulkan GPU on linux/x64; on the lavapipe software renderer for tests only), cpu. The first that loads is used and logged; each one skipped says why in one line (docs/gpu.md).',
      format: custom<Provider[]>(
        `a non-empty list drawn from ${PROVIDERS.join(', ')}, each at most once`,
        'list',
        (v) =>
          Array.isArray(v) &&
          v.length > 0 &&
          v.every((x) => PROVIDERS.includes(x as Provider)) &&
          new Set(v).size === v.length,
      ),
      default: ['cuda', 'cpu'],
      env: 'INSPECTD_PROVIDERS',
    },
    threads: {
      doc: 'Threads per inference session on the CPU provider; 0 = all cores.',
      format: int(0, 1024),
      default: 0,
      env: 'INSPECTD_THREADS',
    },
    batch: {
      maxSize: {
        doc: 'Frames of the cameras on one recipe scored in one run at most; 1 = no batching. Batches form only when several cameras deliver at once (docs/gpu.md, "Many cameras"). A tiled recipe scores all of a frame\'s tiles in its run: frames x tiles model inputs.',
        format: int(1, 256),
        default: 8,
      },
      maxWaitSec: {
        doc: "How long a frame may wait for other cameras' frames to join its batch (only with a batch size above 1).",
        format: seconds(0, 1),
        default: 0.002,
      },
    },
  },
  fit: fitSettings,
  eval: evalSettings,
  line: {
    doc: 'Production line name; the MQTT topic level after the prefix.',
    format: name(),
    default: 'line1',
    env: 'INSPECTD_LINE',
  },
  recipesDir: {
    doc: 'Folder holding one folder per recipe (model.onnx + manifest.json), as `inspectd fit` writes them.',
    format: text(),
    default: 'models',
    env: 'INSPECTD_RECIPES_DIR',
  },
  cameras: camerasSetting,
  journal: journalSettings,
  health: {
    windowSec: {
      doc: 'Window over which overload and journal failures are counted for the degraded state.',
      format: seconds(5, 3600),
      default: 60,
    },
    maxDropRatio: {
      doc: "A camera that drops more than this share of its frames over the window makes the line degraded (overload). Frames a triggered camera skips on purpose don't count.",
      format: num(0, 1),
      default: 0.1,
    },
  },
  ...sinkSettings,
  shutdownTimeoutSec: {
    doc: 'On SIGTERM/SIGINT: time to finish queued frames and flush sinks before exiting anyway.',
    format: seconds(0, 3600),
    default: 10,
  },
};

type CameraSettings = Infer<typeof cameraSettings>;

/** A camera once loaded: the queue policy "auto" resolved to the source kind's. */
export type CameraConfig = Omit<CameraSettings, 'queue'> & { queue: { size: number; policy: DropPolicy } };

export type Config = Omit<Infer<typeof schema>, 'cameras'> & { cameras: CameraConfig[] };
