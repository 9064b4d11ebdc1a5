import path from 'node:path';
import { fitGaussian } from '../fit/fitGaussian.js';
import { commandContext, numberOption, parseCommandArgs, requireOptions, UsageError } from './common.js';

export const FIT_USAGE = `usage: inspectd fit --method gaussian --backbone FILE --layers NAME,NAME,... --size N --images DIR --out DIR
         [--name NAME] [--eps E] [--channels K] [--batch-size B] [--min-images M] [--config FILE]

  Fits a recipe from a folder of good images and writes DIR/model.onnx + DIR/manifest.json.
  --layers    backbone outputs to fuse (e.g. s4_24ch,s8_32ch,s16_96ch)
  --size      input size in pixels (square), e.g. 224
  --channels  keep a fixed-seed random subset of K fused channels (PaDiM); default all
  --eps       covariance regularization (default from config: fit.eps = 0.01)`;

export async function fitCommand(argv: string[]): Promise<number> {
  const v = parseCommandArgs(
    argv,
    {
      method: { type: 'string' },
      backbone: { type: 'string' },
      layers: { type: 'string' },
      size: { type: 'string' },
      images: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      eps: { type: 'string' },
      channels: { type: 'string' },
      'batch-size': { type: 'string' },
      'min-images': { type: 'string' },
      config: { type: 'string' },
    },
    FIT_USAGE,
  );
  requireOptions(v, ['method', 'backbone', 'layers', 'size', 'images', 'out'], FIT_USAGE);
  if (v.method !== 'gaussian')
    throw new UsageError(`--method ${String(v.method)} is not available; methods: gaussian\n\n${FIT_USAGE}`);
  const { config, log, session } = commandContext(v.config as string | undefined);
  const layers = String(v.layers)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!layers.length) throw new UsageError(`--layers is empty\n\n${FIT_USAGE}`);
  const out = String(v.out);
  await fitGaussian(
    {
      backbone: String(v.backbone),
      layers,
      size: numberOption(
        v,
        'size',
        0,
        (n) => Number.isInteger(n) && n >= 32 && n <= 4096,
        'an integer from 32 to 4096',
      ),
      images: String(v.images),
      out,
      name: (v.name as string | undefined) ?? path.basename(path.resolve(out)),
      eps: numberOption(v, 'eps', config.fit.eps, (n) => n > 0, 'a number > 0'),
      channels:
        v.channels === undefined
          ? undefined
          : numberOption(v, 'channels', 0, (n) => Number.isInteger(n) && n >= 1, 'a positive integer'),
      channelSeed: config.fit.channelSeed,
      batchSize: numberOption(
        v,
        'batch-size',
        config.fit.batchSize,
        (n) => Number.isInteger(n) && n >= 1 && n <= 256,
        'an integer from 1 to 256',
      ),
      minImages: numberOption(
        v,
        'min-images',
        config.fit.minImages,
        (n) => Number.isInteger(n) && n >= 2,
        'an integer >= 2',
      ),
      blurSigma: config.fit.blurSigma,
      session,
    },
    log,
  );
  return 0;
}
