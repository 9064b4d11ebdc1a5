import type { Logger } from 'pino';
import type { BackboneInfo } from '../inference/backbone.js';
import { GraphBuilder } from '../onnx/graphBuilder.js';
import { readModel } from '../onnx/modelFile.js';
import type { Manifest } from '../recipe/manifest.js';
import { mapToOutputs } from '../scoring/mapHead.js';
import { reencode } from '../scoring/reconstruction/reencode.js';
import { squaredErrorMap, weightedSum } from '../scoring/reconstruction/terms.js';
import { inverseMean, startTrainedFit, termPass, type AutoencoderFitOptions } from './fitAutoencoder.js';
import { finishRecipe, FitTimings, tooFewImages } from './fitCommon.js';
import { trainingSettings } from './fitHybrid.js';

const RECON = 'recon';
/** A feature-target model's F, which `recon` reconstructs and e1..ek encode (--target features). */
const TARGET = 'target';

/** What the autoencoder reconstructs and encodes: the image, or F inside the model; and its encoder levels. */
interface Reconstructed {
  /** The tensor `recon` reconstructs: the model's input, or TARGET. */
  name: string;
  channels: number;
  levels: string[];
}

/**
 * S000's feature term: the reconstruction encoded again (inside the graph), then per level the mean over
 * channels of (E_i(X) - E_i(X^))^2, upsampled to the reconstructed tensor's grid and summed over levels.
 */
export function featureErrorMap(b: GraphBuilder, bb: BackboneInfo, r: Reconstructed): string {
  const again = reencode(b, bb.model, r.name, RECON, r.levels);
  const maps = r.levels.map((name, i) => {
    const level = bb.levels.find((l) => l.name === name)!;
    const m = squaredErrorMap(b, name, again[i], level.channels);
    return b.resizeBilinearLike(m, r.name);
  });
  return maps.reduce((acc, m) => b.op('Add', [acc, m], {}, 'levels'));
}

/** The model's encoder levels e1..ek (4 for pixels, 3 for features), in order. */
function encoderLevels(model: string): string[] {
  const names = (readModel(model).graph?.output ?? []).map((o) => o.name ?? '');
  return names.filter((n) => /^e\d+$/.test(n)).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
}

/**
 * fit --method multilevel (S000): A = alpha * ||X - X^|| + beta * sum_i ||E_i(X) - E_i(X^)||, taken per pixel
 * (the recipe's map; its max is the image score), with alpha and beta = 1 / mean of each term's image value
 * over the good images, so the two count equally. A feature-target model reconstructs F, the backbone's
 * levels, in place of X: both terms are then per position of F's grid.
 */
export async function fitMultilevel(o: AutoencoderFitOptions, log: Logger): Promise<Manifest> {
  const timings = new FitTimings();
  const levels = encoderLevels(o.model);
  const { start, base } = await startTrainedFit(o, 'multilevel', [RECON, ...levels], log);
  const { bb } = start;
  const input = bb.inputName;
  const features = bb.metadata['inspectd.target'] === 'features';
  const r: Reconstructed = {
    name: features ? TARGET : input,
    channels: bb.levels.find((l) => l.name === RECON)!.channels,
    levels,
  };
  const reconstructionError = (b: GraphBuilder) => squaredErrorMap(b, r.name, RECON, r.channels);

  // 1. Each term's image value over the good images (one pass each: the map tail writes one score).
  const t = performance.now();
  const pixel = await termPass(start, base, log, reconstructionError);
  const feature = await termPass(start, base, log, (b) => featureErrorMap(b, bb, r));
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
    { map: reconstructionError(b), weight: alpha },
    { map: featureErrorMap(b, bb, r), weight: beta },
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
        target: features ? 'features' : 'pixels',
        reconstructionError: features
          ? `mean over the ${r.channels} channels of F (s8 and s16 levels, standardized) of the squared error, per s8 position`
          : 'mean over channels of the squared error (normalized input units)',
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
