import convict from 'convict';

/** The providers onnxruntime is asked for, in order; `cpu` is always the last resort. */
const PROVIDERS = ['cuda', 'cpu'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface Config {
  version: number;
  log: { level: (typeof LOG_LEVELS)[number]; pretty: 'auto' | 'always' | 'never' };
  inference: { providers: (typeof PROVIDERS)[number][]; threads: number };
  fit: { eps: number; batchSize: number; minImages: number; blurSigma: number; channelSeed: number };
  eval: { batchSize: number; overlayCount: number };
}

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
  eval: {
    batchSize: { doc: 'Images per model call while evaluating.', format: positiveInt(256), default: 16 },
    overlayCount: {
      doc: 'With --overlays: how many worst misses and how many worst false alarms to draw.',
      format: 'nat',
      default: 8,
    },
  },
};
