import convict from 'convict';
import { validateCameras, type CameraConfig } from './cameras.js';
import { opcuaSchema, type OpcuaSettings } from '../sinks/opcua/settings.js';

/** The providers onnxruntime is asked for, in order; `cpu` is always the last resort. */
const PROVIDERS = ['cuda', 'cpu'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface Config {
  version: number;
  log: { level: (typeof LOG_LEVELS)[number]; pretty: 'auto' | 'always' | 'never' };
  inference: { providers: (typeof PROVIDERS)[number][]; threads: number };
  fit: { eps: number; batchSize: number; minImages: number; blurSigma: number; channelSeed: number };
  eval: { batchSize: number; overlayCount: number };
  line: string;
  recipesDir: string;
  cameras: CameraConfig[];
  mqtt: {
    url: string;
    prefix: string;
    clientId: string;
    username: string;
    password: string;
    passwordFile: string;
    tls: { ca: string; cert: string; key: string; rejectUnauthorized: boolean };
    statsIntervalSec: number;
    maxQueued: number;
    embedded: { host: string; port: number };
  };
  http: { host: string; port: number };
  archive: { dir: string; okSampleRate: number; maxFiles: number; maxBytes: number };
  opcua: OpcuaSettings;
  shutdownTimeoutSec: number;
}

convict.addFormat({
  name: 'cameras',
  validate(v: unknown) {
    const problems: { key: string; message: string }[] = [];
    validateCameras(v, problems);
    // One line per problem; load.ts splits them back into separate entries.
    if (problems.length) throw new Error(problems.map((p) => `${p.key}: ${p.message}`).join('\n'));
  },
});

const nameFormat = (v: unknown) => {
  if (typeof v !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(v))
    throw new Error(`must be 1-64 letters, digits, _ . - (no / + #), got ${JSON.stringify(v)}`);
};

convict.addFormat({
  name: 'provider-list',
  validate(v: unknown) {
    if (!Array.isArray(v) || v.length === 0)
      throw new Error(
        `must be a non-empty list drawn from ${PROVIDERS.join(', ')}, got ${JSON.stringify(v)}`,
      );
    const bad = v.filter((p) => !(PROVIDERS as readonly unknown[]).includes(p));
    if (bad.length)
      throw new Error(
        `unknown provider ${bad.map((b) => JSON.stringify(b)).join(', ')}; allowed: ${PROVIDERS.join(', ')}`,
      );
  },
  coerce: (v: unknown) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v),
});

const positiveInt = (max: number) => (v: unknown) => {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > max)
    throw new Error(`must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
};
const numberIn =
  (min: number, max: number, minExclusive = false) =>
  (v: unknown) => {
    const ok = typeof v === 'number' && (minExclusive ? v > min : v >= min) && v <= max;
    if (!ok)
      throw new Error(
        `must be a number ${minExclusive ? '>' : '>='} ${min} and <= ${max}, got ${JSON.stringify(v)}`,
      );
  };

/**
 * The single declaration of every setting: its documentation, format, default and environment variable.
 * docs/CONFIG.md is generated from it (`inspectd config-doc`).
 */
export const schema: convict.Schema<Config> = {
  version: {
    doc: 'Configuration format version; lets future releases migrate old files.',
    format: [1],
    default: 1,
  },
  log: {
    level: {
      doc: 'Least severe log level written.',
      format: [...LOG_LEVELS],
      default: 'info',
      env: 'INSPECTD_LOG_LEVEL',
    },
    pretty: {
      doc: 'Human-readable logs: auto = when writing to a terminal; JSON otherwise.',
      format: ['auto', 'always', 'never'],
      default: 'auto',
      env: 'INSPECTD_LOG_PRETTY',
    },
  },
  inference: {
    providers: {
      doc: 'onnxruntime execution providers to try, in order (cuda, cpu). The first that loads is used and logged.',
      format: 'provider-list',
      default: ['cuda', 'cpu'],
      env: 'INSPECTD_PROVIDERS',
    },
    threads: {
      doc: 'Threads per inference session on the CPU provider; 0 = all cores.',
      format: 'nat',
      default: 0,
      env: 'INSPECTD_THREADS',
    },
  },
  fit: {
    eps: {
      doc: 'Gaussian recipes: eps added to the covariance diagonal (PaDiM uses 0.01).',
      format: numberIn(0, 1e6, true),
      default: 0.01,
    },
    batchSize: {
      doc: 'Images per model call while fitting. Larger batches amortize the per-batch covariance update (64: about 1.8x faster than 16 at 224x224).',
      format: positiveInt(256),
      default: 64,
    },
    minImages: {
      doc: 'Fewest good images a fit accepts: fewer cannot give a stable per-position covariance.',
      format: positiveInt(100000),
      default: 16,
    },
    blurSigma: {
      doc: 'Sigma (in pixels of the input image) of the Gaussian blur on anomaly maps; 0 = none. PaDiM uses 4.',
      format: numberIn(0, 64),
      default: 4,
    },
    channelSeed: {
      doc: 'Seed of the random channel subset (--channels), so a refit picks the same channels.',
      format: 'int',
      default: 7,
    },
  },
  line: {
    doc: 'Production line name; the MQTT topic level after the prefix.',
    format: nameFormat,
    default: 'line1',
    env: 'INSPECTD_LINE',
  },
  recipesDir: {
    doc: 'Folder holding one folder per recipe (model.onnx + manifest.json), as `inspectd fit` writes them.',
    format: String,
    default: 'models',
    env: 'INSPECTD_RECIPES_DIR',
  },
  cameras: {
    doc: 'The cameras, one pipeline each: id, recipe, source {type, ...}, queue, decision. See the camera table below.',
    format: 'cameras',
    // Camera URLs carry credentials: convict must not echo the whole list in its messages.
    sensitive: true,
    default: [],
  },
  mqtt: {
    url: {
      doc: 'Broker URL (mqtt://, mqtts://, ws://). Empty: start an embedded broker on mqtt.embedded.host:port.',
      format: String,
      default: '',
      env: 'INSPECTD_MQTT_URL',
    },
    prefix: {
      doc: 'First topic level of everything inspectd publishes.',
      format: nameFormat,
      default: 'inspectd',
      env: 'INSPECTD_MQTT_PREFIX',
    },
    clientId: { doc: 'MQTT client id; empty = inspectd-<line>-<pid>.', format: String, default: '' },
    username: { doc: 'Broker user name.', format: String, default: '', env: 'INSPECTD_MQTT_USERNAME' },
    password: {
      doc: 'Broker password (prefer passwordFile).',
      format: String,
      default: '',
      sensitive: true,
      env: 'INSPECTD_MQTT_PASSWORD',
    },
    passwordFile: {
      doc: 'File holding the broker password, e.g. $CREDENTIALS_DIRECTORY/mqtt-password under systemd.',
      format: String,
      default: '',
      env: 'INSPECTD_MQTT_PASSWORD_FILE',
    },
    tls: {
      ca: { doc: 'CA certificate file (PEM) to verify the broker.', format: String, default: '' },
      cert: { doc: 'Client certificate file (PEM) for mutual TLS.', format: String, default: '' },
      key: {
        doc: 'Client key file (PEM) for mutual TLS.',
        format: String,
        default: '',
        env: 'INSPECTD_MQTT_TLS_KEY',
      },
      rejectUnauthorized: {
        doc: 'Refuse brokers whose certificate does not verify.',
        format: Boolean,
        default: true,
      },
    },
    statsIntervalSec: {
      doc: 'Seconds between <prefix>/stats messages; 0 = none.',
      format: 'nat',
      default: 30,
    },
    maxQueued: {
      doc: 'Verdicts held for the broker while it is unreachable; beyond this the newest are dropped and counted.',
      format: 'nat',
      default: 10000,
    },
    embedded: {
      host: {
        doc: 'Embedded broker: listen address (localhost only by default).',
        format: String,
        default: '127.0.0.1',
      },
      port: {
        doc: 'Embedded broker: port.',
        format: 'port',
        default: 1883,
        env: 'INSPECTD_MQTT_EMBEDDED_PORT',
      },
    },
  },
  http: {
    host: {
      doc: 'Health, metrics and status page: listen address.',
      format: String,
      default: '127.0.0.1',
      env: 'INSPECTD_HTTP_HOST',
    },
    port: {
      doc: 'Health, metrics and status page: port (0 = any free port, logged).',
      format: 'port',
      default: 8080,
      env: 'INSPECTD_HTTP_PORT',
    },
  },
  archive: {
    dir: {
      doc: 'Folder for archived frames (NG always, OK sampled); empty = no archive.',
      format: String,
      default: 'var/archive',
      env: 'INSPECTD_ARCHIVE_DIR',
    },
    okSampleRate: {
      doc: 'Fraction of OK frames archived too (0 = none).',
      format: (v: unknown) => {
        if (typeof v !== 'number' || v < 0 || v > 1)
          throw new Error(`must be a number from 0 to 1, got ${JSON.stringify(v)}`);
      },
      default: 0,
    },
    maxFiles: {
      doc: 'Keep at most this many archived frames; the oldest go first.',
      format: 'nat',
      default: 5000,
    },
    maxBytes: {
      doc: 'Keep at most this many bytes of archive; the oldest go first.',
      format: 'nat',
      default: 2 * 1024 ** 3,
    },
  },
  opcua: opcuaSchema,
  shutdownTimeoutSec: {
    doc: 'On SIGTERM/SIGINT: time to finish queued frames and flush sinks before exiting anyway.',
    format: 'nat',
    default: 10,
  },
  eval: {
    batchSize: { doc: 'Images per model call while evaluating.', format: positiveInt(256), default: 16 },
    overlayCount: {
      doc: 'With --overlays: how many worst misses and how many worst false alarms to draw.',
      format: 'nat',
      default: 8,
    },
  },
};
