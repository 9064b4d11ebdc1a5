import type { Logger } from 'pino';
import { GraphBuilder } from '../onnx/graphBuilder.js';
import type { Manifest } from '../recipe/manifest.js';
import { mapToOutputs } from '../scoring/mapHead.js';
import type { SkippedImage } from '../preprocess/batches.js';
import { startTrainedFit, type AutoencoderFitOptions } from './fitAutoencoder.js';
import { finishRecipe, FitTimings, streamBatches, tooFewImages } from './fitCommon.js';
import { trainingSettings } from './fitHybrid.js';

/** The fusion network's two per-position maps (scripts/train_fusion.py): eta's score, and A(psi). */
export const FUSION_MAPS = { score: 'score_map', feature: 'feature_map' } as const;
export type FusionMap = keyof typeof FUSION_MAPS;

export type FusionFitOptions = AutoencoderFitOptions & { map: FusionMap };

/**
 * fit --method fusion (S002): the trained network's score map (or its hypersphere distance A) is the recipe's
 * coarse map, less its mean over the good images' positions, then the shared tail (upsample, blur, max). The
 * offset matters because eta's scores are not centred on 0 (normal ones are only held below gamma) and the
 * blur pads with zeros: uncentred, the frame's border would blur towards 0 and stand out from the surface.
 */
export async function fitFusion(o: FusionFitOptions, log: Logger): Promise<Manifest> {
  const timings = new FitTimings();
  const { start, base } = await startTrainedFit(o, 'fusion', Object.values(FUSION_MAPS), log);
  const { bb } = start;
  const level = bb.levels.find((l) => l.name === FUSION_MAPS[o.map])!;
  const plane = level.height * level.width;

  // 1. The map's mean over every position of every good image (with --tile: of every tile) the fit learns from.
  const t = performance.now();
  let sum = 0;
  let count = 0;
  const skipped: SkippedImage[] = [];
  // Only the map itself: its mean is all this pass needs (no upsampling, blur or score).
  const images = await streamBatches(
    start,
    new GraphBuilder(bb.opset),
    [{ name: level.name, dims: ['N', 1, level.height, level.width] }],
    base,
    log,
    skipped,
    async (run, n) => {
      const m = (await run({}, [level.name]))[level.name].data as Float32Array;
      for (let i = 0; i < n * plane; i++) sum += m[i];
      count += n * plane;
    },
  );
  timings.lap('features', t);
  if (images < o.minImages) {
    throw tooFewImages(base, images, skipped.length, {
      need: `the map's offset and the threshold need at least ${o.minImages}`,
      fix: 'add good images, or lower --min-images (at your own risk)',
    });
  }
  const offset = sum / count;
  log.info({ map: o.map, offset }, `fusion: ${o.map} map centred by ${offset.toPrecision(4)}`);

  // 2. The recipe model, the threshold, the manifest.
  const b = new GraphBuilder(bb.opset);
  const centred = b.op('Sub', [level.name, b.float32('offset', [], Float32Array.of(offset))]);
  mapToOutputs(b, centred, bb.inputName, o.blurSigma);
  return finishRecipe(
    base,
    {
      start,
      head: b,
      params: {
        map: o.map,
        mapOutput: level.name,
        offset,
        grid: [level.height, level.width],
        blurSigma: o.blurSigma,
        training: trainingSettings(bb.metadata),
      },
      used: images,
      skipped,
      timings,
    },
    log,
  );
}
