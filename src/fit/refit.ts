import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Manifest } from '../recipe/manifest.js';
import type { FitBaseOptions } from './fitCommon.js';

/** What a two-step fit needs of any method's options. */
export type RefitOptions = Pick<FitBaseOptions, 'out' | 'holdout' | 'presetThreshold'>;

/** Where the first fit of `fitWithRefit` writes, inside the output folder; removed afterwards. */
export const THRESHOLD_FIT_DIR = '.threshold-fit';

/**
 * `--holdout F --refit`: the threshold of a fit that held images out, on a recipe that learns from every image.
 * A held-out fit sets an honest threshold but learns from fewer images (on magnetic_tile a memory bank loses
 * half a point of image AUROC); so fit once with the held-out images left out and keep its threshold, then fit
 * again on all of them. A recipe learning from more images scores new good parts about as high or lower (a bank of
 * every patch can only come nearer), so the carried threshold errs towards fewer false rejects. Twice the fit
 * time; the backbone features of the kept images are computed in both fits, which is small beside the method's
 * own statistics (6 s of 71 s for nearest-patch on magnetic_tile).
 */
export async function fitWithRefit<O extends RefitOptions>(
  o: O,
  fit: (o: O, log: Logger) => Promise<Manifest>,
  log: Logger,
): Promise<Manifest> {
  const first = path.join(o.out, THRESHOLD_FIT_DIR);
  let held: Manifest;
  try {
    log.info(`fit 1 of 2: leaving ${o.holdout} of the good images out to set the threshold`);
    held = await fit({ ...o, out: first }, log);
  } finally {
    await rm(first, { recursive: true, force: true });
  }
  log.info(`fit 2 of 2: on every good image; the threshold ${held.threshold.value.toFixed(4)} stays`);
  return fit(
    {
      ...o,
      holdout: 0,
      presetThreshold: {
        calibration: held.calibration,
        holdoutImages: held.provenance.holdoutImages ?? [],
        seconds: held.provenance.timingsSeconds.total ?? 0,
      },
    },
    log,
  );
}
