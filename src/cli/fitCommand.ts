import path from 'node:path';
import type { Logger } from 'pino';
import type { AutoencoderFitOptions } from '../fit/fitAutoencoder.js';
import { fitGaussian } from '../fit/fitGaussian.js';
import {
  fitNearestPatch,
  NEAREST_PATCH_DEFAULTS as NP,
  type NearestPatchSettings,
} from '../fit/fitNearestPatch.js';
import { fitHybrid } from '../fit/fitHybrid.js';
import { fitMultilevel } from '../fit/fitMultilevel.js';
import { fitWithRefit, type RefitOptions } from '../fit/refit.js';
import type { Manifest } from '../recipe/manifest.js';
import {
  commandContext,
  intOption,
  numberOption,
  parseCommandArgs,
  requireOptions,
  UsageError,
} from './common.js';

export const FIT_USAGE = `usage: inspectd fit --method gaussian --backbone FILE --layers NAME,NAME,... --size N --images DIR --out DIR
         [--name NAME] [--eps E] [--channels K] [--batch-size B] [--min-images M] [--holdout F [--refit]]
         [--config FILE]

  Fits a recipe from a folder of good images and writes DIR/model.onnx + DIR/manifest.json.
  --holdout   (every method) keep this fraction of the good images out of the fit and set the threshold from
              them; default 0: the threshold is the highest score of the training images themselves
  --refit     (with --holdout) then fit again on every image and keep that threshold: twice the fit time
  --layers    backbone outputs to fuse (e.g. s4_24ch,s8_32ch,s16_96ch)
  --size      input size in pixels (square), e.g. 224
  --channels  keep a fixed-seed random subset of K fused channels (PaDiM); default all
  --eps       covariance regularization (default from config: fit.eps = 0.01)

       inspectd fit --method nearest-patch --backbone FILE --layers NAME,... --size N --images DIR --out DIR
         [--bank M | --coreset F] [--pool N] [--score reweighted|max] [--bank-dtype float32|float16]
         [--chunk C] [--projection D] [--neighbours K] [--seed S]

  A memory bank of normal patches (S001 Patch SVDD, PatchCore): anomaly = distance to the nearest one.
  --bank        bank size in patches (default ${NP.bank}); or --coreset F, a fraction of all training patches
  --pool        candidate patches the greedy coreset picks from, sampled evenly per image (default ${NP.pool})
  --score       image score: PatchCore's re-weighted max patch distance, or max of the map (default ${NP.score})
  --bank-dtype  float16 halves the recipe size (default ${NP.storage})
  --chunk       bank items per distance MatMul; bounds memory for large banks (default ${NP.chunk})

       inspectd fit --method hybrid|multilevel --model FILE --images DIR --out DIR
         [--name NAME] [--size N] [--batch-size B] [--min-images M] [--config FILE]

  Autoencoder recipes (S004 hybrid, S000 multi-level): --model is the ONNX model written by
  scripts/train_hybrid.py or scripts/train_multilevel.py; --size defaults to the size it was trained at.`;

export async function fitCommand(argv: string[]): Promise<number> {
  const v = parseCommandArgs(
    argv,
    {
      method: { type: 'string' },
      backbone: { type: 'string' },
      model: { type: 'string' },
      layers: { type: 'string' },
      size: { type: 'string' },
      images: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      eps: { type: 'string' },
      channels: { type: 'string' },
      'batch-size': { type: 'string' },
      'min-images': { type: 'string' },
      holdout: { type: 'string' },
      refit: { type: 'boolean' },
      config: { type: 'string' },
      ...Object.fromEntries(NEAREST_PATCH_FLAGS.map((f) => [f, { type: 'string' as const }])),
    },
    FIT_USAGE,
  );
  if (v.method === 'hybrid' || v.method === 'multilevel') return fitAutoencoderCommand(v, v.method);
  requireOptions(v, ['method', 'backbone', 'layers', 'size', 'images', 'out'], FIT_USAGE);
  if (v.method !== 'gaussian' && v.method !== 'nearest-patch')
    throw new UsageError(
      `--method ${String(v.method)} is not available; methods: gaussian, nearest-patch, hybrid, multilevel\n\n${FIT_USAGE}`,
    );
  const onlyFor = v.method === 'gaussian' ? NEAREST_PATCH_FLAGS : ['eps', 'channels'];
  for (const f of onlyFor)
    if (v[f] !== undefined)
      throw new UsageError(`--${f} does not apply to --method ${v.method}\n\n${FIT_USAGE}`);
  const { config, log, session } = commandContext(v.config as string | undefined);
  const layers = String(v.layers)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!layers.length) throw new UsageError(`--layers is empty\n\n${FIT_USAGE}`);
  const out = String(v.out);
  const base = {
    backbone: String(v.backbone),
    layers,
    size: sizeOption(v, 0),
    ...commonFitOptions(v, out, config, session),
  };
  if (v.method === 'nearest-patch') {
    await withRefit(v, { ...base, ...nearestPatchOptions(v) }, fitNearestPatch, log);
    return 0;
  }
  await withRefit(
    v,
    {
      ...base,
      eps: numberOption(v, 'eps', config.fit.eps, (n) => n > 0, 'a number > 0'),
      channels:
        v.channels === undefined
          ? undefined
          : numberOption(v, 'channels', 0, (n) => Number.isInteger(n) && n >= 1, 'a positive integer'),
      channelSeed: config.fit.channelSeed,
    },
    fitGaussian,
    log,
  );
  return 0;
}

/** The fit itself, or with --refit two fits: one that holds images out for the threshold, one on all. */
function withRefit<O extends RefitOptions>(
  v: Record<string, unknown>,
  o: O,
  fit: (o: O, log: Logger) => Promise<Manifest>,
  log: Logger,
): Promise<Manifest> {
  if (v.refit === undefined) return fit(o, log);
  if (!(o.holdout > 0))
    throw new UsageError(
      `--refit needs --holdout F (a fraction > 0) to take the threshold from\n\n${FIT_USAGE}`,
    );
  return fitWithRefit(o, fit, log);
}

const NEAREST_PATCH_FLAGS = [
  'bank',
  'coreset',
  'pool',
  'score',
  'bank-dtype',
  'chunk',
  'projection',
  'neighbours',
  'seed',
];

function nearestPatchOptions(v: Record<string, unknown>): NearestPatchSettings {
  const oneOf = <T extends string>(name: string, fallback: T, allowed: readonly T[]): T => {
    const raw = v[name];
    if (raw === undefined) return fallback;
    if (!allowed.includes(raw as T))
      throw new UsageError(
        `--${name} ${String(raw)} is not valid: one of ${allowed.join(', ')}\n\n${FIT_USAGE}`,
      );
    return raw as T;
  };
  if (v.bank !== undefined && v.coreset !== undefined)
    throw new UsageError(`--bank and --coreset both size the bank: pass one\n\n${FIT_USAGE}`);
  const pool = intOption(v, 'pool', NP.pool, 1, 10_000_000);
  const bank = v.coreset !== undefined ? undefined : intOption(v, 'bank', NP.bank ?? 0, 1, pool);
  return {
    bank,
    coreset: numberOption(v, 'coreset', NP.coreset, (n) => n > 0 && n <= 1, 'a fraction in (0, 1]'),
    pool,
    score: oneOf('score', NP.score, ['reweighted', 'max']),
    storage: oneOf('bank-dtype', NP.storage, ['float32', 'float16']),
    chunk: intOption(v, 'chunk', NP.chunk, 1, 1_000_000),
    projection: intOption(v, 'projection', NP.projection, 2, 4096),
    neighbours: intOption(v, 'neighbours', NP.neighbours, 1, 1000),
    seed: intOption(v, 'seed', NP.seed, 0, 2 ** 31 - 1),
  };
}

/** The options every method takes, besides its model and layers. */
function commonFitOptions(
  v: Record<string, unknown>,
  out: string,
  config: CommandContext['config'],
  session: CommandContext['session'],
): Omit<AutoencoderFitOptions, 'model' | 'size'> {
  return {
    images: String(v.images),
    out,
    name: (v.name as string | undefined) ?? path.basename(path.resolve(out)),
    batchSize: intOption(v, 'batch-size', config.fit.batchSize, 1, 256),
    minImages: numberOption(
      v,
      'min-images',
      config.fit.minImages,
      (n) => Number.isInteger(n) && n >= 2,
      'an integer >= 2',
    ),
    blurSigma: config.fit.blurSigma,
    holdout: numberOption(v, 'holdout', 0, (n) => n >= 0 && n <= 0.5, 'a fraction in [0, 0.5]'),
    session,
  };
}

const sizeOption = (v: Record<string, unknown>, fallback: number): number =>
  intOption(v, 'size', fallback, 32, 4096);

type CommandContext = ReturnType<typeof commandContext>;

async function fitAutoencoderCommand(
  v: Record<string, unknown>,
  method: 'hybrid' | 'multilevel',
): Promise<number> {
  requireOptions(v, ['method', 'model', 'images', 'out'], FIT_USAGE);
  for (const other of ['backbone', 'layers', 'eps', 'channels', ...NEAREST_PATCH_FLAGS])
    if (v[other] !== undefined)
      throw new UsageError(`--${other} does not apply to --method ${method}\n\n${FIT_USAGE}`);
  const { config, log, session } = commandContext(v.config as string | undefined);
  const o: AutoencoderFitOptions = {
    model: String(v.model),
    size: v.size === undefined ? undefined : sizeOption(v, 0),
    ...commonFitOptions(v, String(v.out), config, session),
  };
  await withRefit(v, o, method === 'hybrid' ? fitHybrid : fitMultilevel, log);
  return 0;
}
