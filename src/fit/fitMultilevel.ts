import type { Logger } from 'pino';
import type { BackboneInfo } from '../inference/backbone.js';
import { GraphBuilder } from '../onnx/graphBuilder.js';
import type { Manifest } from '../recipe/manifest.js';
import { mapToOutputs } from '../scoring/mapHead.js';
import { reencode } from '../scoring/reconstruction/reencode.js';
import { squaredErrorMap, weightedSum } from '../scoring/reconstruction/terms.js';
import { inverseMean, startTrainedFit, termPass, type AutoencoderFitOptions } from './fitAutoencoder.js';
import { finishRecipe, FitTimings, tooFewImages } from './fitCommon.js';
import { trainingSettings } from './fitHybrid.js';

const RECON = 'recon';
const LEVELS = ['e1', 'e2', 'e3', 'e4'];

/**
 * S000's feature term: the reconstruction encoded again (inside the graph), then per level the mean over
 * channels of (E_i(X) - E_i(X^))^2, upsampled to the image and summed over levels: [N,1,H,W].
 */
export function featureErrorMap(b: GraphBuilder, bb: BackboneInfo): string {
  const again = reencode(b, bb.model, bb.inputName, RECON, LEVELS);
  const maps = LEVELS.map((name, i) => {
    const level = bb.levels.find((l) => l.name === name)!;
    const m = squaredErrorMap(b, name, again[i], level.channels);
    return b.resizeBilinearLike(m, bb.inputName);
  });
  return maps.reduce((acc, m) => b.op('Add', [acc, m], {}, 'levels'));
}

/**
 * fit --method multilevel (S000): A = alpha * ||X - X^|| + beta * sum_i ||E_i(X) - E_i(X^)||, taken per pixel
 * (the recipe's map; its max is the image score), with alpha and beta = 1 / mean of each term's image value
 * over the good images, so the two count equally.
 */
export async function fitMultilevel(o: AutoencoderFitOptions, log: Logger): Promise<Manifest> {
  const timings = new FitTimings();
  const { start, base } = await startTrainedFit(o, 'multilevel', [RECON, ...LEVELS], log);
  const { bb } = start;
  const input = bb.inputName;

  // 1. Each term's image value over the good images (one pass each: the map tail writes one score).
  const t = performance.now();
  const pixel = await termPass(start, base, log, (b) => squaredErrorMap(b, input, RECON, 3));
  const feature = await termPass(start, base, log, (b) => featureErrorMap(b, bb));
  timings.lap('features', t);
  if (pixel.images < o.minImages) {
    throw tooFewImages(base, pixel.images, pixel.skipped.length, {
      need: `the weights alpha and beta need at least ${o.minImages}`,
      fix: 'add good images, or lower --min-images (at your own risk)',
    });
  }
  const alpha = inverseMean(pixel.scores, 'reconstruction');
  const beta = inverseMean(feature.scores, 'feature (re-encoded reconstruction)');
  log.info({ alpha, beta }, `multilevel: alpha ${alpha.toPrecision(4)}, beta ${beta.toPrecision(4)}`);

  // 2. The recipe model, the threshold, the manifest.
  const b = new GraphBuilder(bb.opset);
  const map = weightedSum(b, [
    { map: squaredErrorMap(b, input, RECON, 3), weight: alpha },
    { map: featureErrorMap(b, bb), weight: beta },
  ]);
  mapToOutputs(b, map, input, o.blurSigma);
  return finishRecipe(
    base,
    {
      start,
      head: b,
      params: {
        alpha,
        beta,
        meanReconstruction: 1 / alpha,
        meanFeature: 1 / beta,
        levels: bb.levels.filter((l) => l.name !== RECON),
        reconstructionError: 'mean over channels of the squared error (normalized input units)',
        blurSigma: o.blurSigma,
        training: trainingSettings(bb.metadata),
      },
      used: pixel.images,
      skipped: pixel.skipped,
      timings,
    },
    log,
  );
}
