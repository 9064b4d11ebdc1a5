import type { Logger } from 'pino';
import { flagProblem, flags, type Flags, type FlagValues } from '../core/flags.js';
import { bool, custom, int, nonEmpty, num, oneOf, text, type Infer } from '../core/settings.js';
import type { Manifest } from '../recipe/manifest.js';
import type { AutoencoderFitOptions } from './fitAutoencoder.js';
import type { FitBaseOptions } from './fitCommon.js';
import { fitFusion, FUSION_MAPS, type FusionMap } from './fitFusion.js';
import { fitGaussian } from './fitGaussian.js';
import { fitHybrid } from './fitHybrid.js';
import { fitMultilevel } from './fitMultilevel.js';
import { fitNearestPatch, NEAREST_PATCH_DEFAULTS as NP } from './fitNearestPatch.js';
import { fitWithRefit, type RefitOptions } from './refit.js';
import type { fitSettings } from './settings.js';
import { parseSize, SIZE_RANGE } from '../core/inputSpec.js';

/*
 * The methods of `inspectd fit --method NAME`, a row each: what the recipe scores, the method's flags (declared
 * as settings are: doc, default or configuration setting, allowed values, required), problems of its flags
 * together, and `run`. The command line, its checks and `inspectd fit --help` come from this table alone, and the
 * recipe's manifest names the method by its key here: a new method is a new row.
 */

const SIZE = custom<string>(
  `N (square) or WxH, each side from ${SIZE_RANGE.min} to ${SIZE_RANGE.max} pixels, e.g. 224 or 448x224`,
  'string',
  (v) => parseSize(v) !== undefined,
);

/** The flags every method takes. */
export const COMMON_FLAGS = flags({
  images: { doc: 'folder of good images', format: nonEmpty('a folder'), required: true, value: 'DIR' },
  out: {
    doc: 'recipe folder to write (model.onnx + manifest.json)',
    format: nonEmpty('a folder'),
    required: true,
    value: 'DIR',
  },
  name: { doc: "recipe name; default the --out folder's name", format: text(), value: 'NAME' },
  batchSize: {
    doc: 'images per model call; with --tile, tiles (B / tiles images)',
    format: int(1, 256),
    config: 'fit.batchSize',
    value: 'B',
  },
  minImages: {
    doc: 'fewest good images the fit accepts',
    format: int(2),
    config: 'fit.minImages',
    value: 'M',
  },
  tile: {
    doc: 'for large frames with small defects: cut the --size canvas into tiles of this size (first and last flush with its edges, spread evenly) and score them all in one model run; image score = the max over the tiles, map = their maps stitched (max where they overlap). Default: the canvas is one model input',
    format: SIZE,
    value: 'N|WxH',
  },
  overlap: {
    doc: "with --tile: neighbouring tiles overlap by at least P pixels; default 1/8 of the tile's shorter side",
    format: int(0, SIZE_RANGE.max),
    value: 'P',
  },
  holdout: {
    doc: 'keep this fraction of the good images out of the fit and set the threshold from them; 0: the threshold is the highest score of the training images themselves',
    format: num(0, 0.5),
    default: 0,
    value: 'F',
  },
  refit: {
    doc: 'with --holdout: then fit again on every image and keep that threshold (twice the fit time)',
    format: bool(),
    default: false,
  },
  config: {
    doc: "configuration file: the defaults said to be the configuration's",
    format: text(),
    value: 'FILE',
  },
});

/** What a method's run gets besides its own flags. */
export type FitCommon = Omit<FitBaseOptions, 'backbone' | 'layers' | 'size'> & {
  refit: boolean;
  /** The configuration's fit settings that are no flag (e.g. channelSeed). */
  fit: Infer<typeof fitSettings>;
};

/** Problems with the common flags together (one line each). */
export const commonProblems = (o: FitCommon): string[] => [
  ...(o.refit && !(o.holdout > 0)
    ? ['--refit needs --holdout F (a fraction > 0) to take the threshold from']
    : []),
  ...(o.overlap !== undefined && o.tile === undefined
    ? ['--overlap only applies with --tile: pass --tile N|WxH, or leave --overlap out']
    : []),
];

export type FitRun<F extends Flags> = FlagValues<F> & FitCommon;

/** A row of the table: one fit method. */
export interface FitMethod<F extends Flags = Flags> {
  /** One line: what the recipe scores. */
  summary: string;
  flags: F;
  /** Problems with the method's flags together (one line each); `given` holds only those on the command line. */
  check?(o: FitRun<F>, given: Partial<FlagValues<F>>): string[];
  run(o: FitRun<F>, log: Logger): Promise<Manifest>;
}

const method = <F extends Flags>(m: FitMethod<F>): FitMethod<F> => m;

/** The fit, or with --refit two fits: one that holds images out for the threshold, one on all. */
const refitting = <O extends RefitOptions>(
  o: O & { refit: boolean },
  fit: (o: O, log: Logger) => Promise<Manifest>,
  log: Logger,
): Promise<Manifest> => (o.refit ? fitWithRefit(o, fit, log) : fit(o, log));

/** The methods that score the features of a pretrained backbone. */
const BACKBONE_FLAGS = {
  backbone: { doc: 'feature backbone (ONNX)', format: nonEmpty('a file'), required: true, value: 'FILE' },
  layers: {
    doc: 'backbone outputs to fuse, e.g. s4_24ch,s8_32ch,s16_96ch',
    format: custom<string[]>(
      'a comma-separated list of output names',
      'list',
      (v) => Array.isArray(v) && v.length > 0,
    ),
    required: true,
    value: 'NAME,...',
  },
  size: {
    doc: 'input size in pixels: N (square) or WxH, e.g. 224, or 448x224 for parts twice as wide as tall (keeps their aspect); with --tile, the canvas every frame is resized to before it is cut into tiles',
    format: SIZE,
    required: true,
    value: 'N|WxH',
  },
} as const;

const gaussian = method({
  summary: 'a Gaussian of the backbone features at each position (PaDiM): anomaly = Mahalanobis distance',
  flags: {
    ...BACKBONE_FLAGS,
    eps: { doc: 'covariance regularization', format: num(0, Infinity, true), config: 'fit.eps', value: 'E' },
    channels: {
      doc: 'keep a fixed-seed random subset of K fused channels (PaDiM); default all',
      format: int(1),
      value: 'K',
    },
  },
  run: (o, log) => refitting({ ...o, channelSeed: o.fit.channelSeed }, fitGaussian, log),
});

const nearestPatch = method({
  summary: 'a memory bank of normal patches (Patch SVDD, PatchCore): anomaly = distance to the nearest one',
  flags: {
    ...BACKBONE_FLAGS,
    bank: { doc: 'bank size in patches', format: int(1), default: NP.bank, value: 'M' },
    coreset: {
      doc: 'instead of --bank: this fraction of all training patches',
      format: num(0, 1, true),
      value: 'F',
    },
    pool: {
      doc: 'candidate patches the greedy coreset picks from, sampled evenly per image',
      format: int(1, 10_000_000),
      default: NP.pool,
      value: 'N',
    },
    score: {
      doc: "image score: PatchCore's re-weighted max patch distance, or the max of the map",
      format: oneOf(['reweighted', 'max']),
      default: NP.score,
      value: 'RULE',
    },
    bankDtype: {
      doc: 'float16 halves the recipe size',
      format: oneOf(['float32', 'float16']),
      default: NP.storage,
      value: 'TYPE',
    },
    chunk: {
      doc: 'bank items per distance MatMul; bounds memory for large banks',
      format: int(1, 1_000_000),
      default: NP.chunk,
      value: 'C',
    },
    projection: {
      doc: "random projection size for the coreset's distances",
      format: int(2, 4096),
      default: NP.projection,
      value: 'D',
    },
    neighbours: {
      doc: 'bank neighbours for the re-weighted score',
      format: int(1, 1000),
      default: NP.neighbours,
      value: 'K',
    },
    seed: {
      doc: 'seed of the coreset and projection',
      format: int(0, 2 ** 31 - 1),
      default: NP.seed,
      value: 'S',
    },
  },
  check: (o, given) =>
    given.bank === undefined
      ? []
      : given.coreset !== undefined
        ? ['--bank and --coreset both size the bank: pass one']
        : given.bank > o.pool
          ? [flagProblem('bank', given.bank, `an integer from 1 to --pool (${o.pool})`)]
          : [],
  run: (o, log) =>
    refitting(
      {
        ...o,
        bank: o.coreset === undefined ? o.bank : undefined,
        coreset: o.coreset ?? NP.coreset,
        storage: o.bankDtype,
      },
      fitNearestPatch,
      log,
    ),
});

/** The flags of a model a training script wrote. */
const trainedModelFlags = (script: string) =>
  ({
    model: {
      doc: `the ONNX model ${script} wrote`,
      format: nonEmpty('a file'),
      required: true,
      value: 'FILE',
    },
    size: {
      doc: 'input size in pixels; default the size the model was trained at; with --tile (the trained size), the canvas the tiles are cut from',
      format: SIZE,
      value: 'N|WxH',
    },
  }) as const;

/** Autoencoder recipes: the model comes from a training script, trained at a fixed size. */
const autoencoder = (
  summary: string,
  script: string,
  fit: (o: AutoencoderFitOptions, log: Logger) => Promise<Manifest>,
): FitMethod =>
  method({
    summary,
    flags: trainedModelFlags(script),
    run: (o, log) => refitting(o, fit, log),
  });

const fusion = method({
  summary:
    'a fusion network trained on pseudo-anomalies (S002, scripts/train_fusion.py): anomaly = its score per position',
  flags: {
    ...trainedModelFlags('scripts/train_fusion.py'),
    map: {
      doc: "the network's map the recipe scores: its score head (score), or the features' distance from the centre (feature)",
      format: oneOf(Object.keys(FUSION_MAPS) as FusionMap[]),
      default: 'score' as FusionMap,
      value: 'MAP',
    },
  },
  check: (o) =>
    o.refit
      ? [
          '--refit: fit learns nothing from the images here (scripts/train_fusion.py trained the network); train with --holdout F there and pass the same --holdout F here',
        ]
      : [],
  run: (o, log) => fitFusion(o, log),
});

/** Every fit method, by its --method name (the recipe's manifest says it). */
export const fitMethods: Record<string, FitMethod> = {
  gaussian,
  'nearest-patch': nearestPatch,
  hybrid: autoencoder(
    'latent distance + reconstruction error of an autoencoder (S004)',
    'scripts/train_hybrid.py',
    fitHybrid,
  ),
  multilevel: autoencoder(
    'image + feature reconstruction errors of an autoencoder (S000)',
    'scripts/train_multilevel.py',
    fitMultilevel,
  ),
  fusion,
};

/**
 * What `inspectd fit` makes when no --method is given: the candidate that ranked best on validation sets built
 * from training images only (held-out good images with synthetic defects; `scripts/select-defaults.mjs`,
 * docs/recipes.md "How the defaults were chosen"). Flags on the command line win over these.
 */
export const RECOMMENDED = {
  method: 'nearest-patch',
  flags: { layers: 's8_32ch,s16_96ch', size: '224', holdout: '0.2', refit: true },
} as const satisfies { method: string; flags: Record<string, string | boolean> };
