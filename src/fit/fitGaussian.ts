import type { Logger } from 'pino';
import { InspectdError } from '../core/errors.js';
import { ort } from '../inference/session.js';
import { GraphBuilder } from '../onnx/graphBuilder.js';
import type { SkippedImage } from '../preprocess/batches.js';
import type { Manifest } from '../recipe/manifest.js';
import { fuseLevels, randomChannelSubset } from '../scoring/fusion.js';
import { mahalanobisMap, momentNodes } from '../scoring/gaussian/head.js';
import { estimateInParallel } from '../scoring/gaussian/estimateParallel.js';
import { MomentAccumulator, type GaussianGrid } from '../scoring/gaussian/moments.js';
import { mapToOutputs } from '../scoring/mapHead.js';
import {
  finishRecipe,
  FitTimings,
  startFit,
  streamBatches,
  tooFewImages,
  type FewImagesAdvice,
  type FitBaseOptions,
  type FitStart,
} from './fitCommon.js';

export interface GaussianFitOptions extends FitBaseOptions {
  eps: number;
  /** Keep this many fused channels (PaDiM's random subset); undefined = all. */
  channels?: number;
  channelSeed: number;
  /** Threads for the covariance inversion (the CPU count by default). */
  threads?: number;
}

const MOMENT_SUM = 'moment_sum';
const MOMENT_OUTER = 'moment_outer';
const SHIFT_INPUT = 'moment_shift';

const advice = (o: GaussianFitOptions): FewImagesAdvice => ({
  need: `a stable per-position covariance needs at least ${o.minImages}`,
  fix: `add good images (PaDiM-style fits want dozens to hundreds), or lower --min-images (at your own risk)`,
});

/** fit --method gaussian: good images -> recipe folder (model.onnx with the Mahalanobis head + manifest). */
export async function fitGaussian(o: GaussianFitOptions, log: Logger): Promise<Manifest> {
  const timings = new FitTimings();
  const start = await startFit(o, log, advice(o));
  const { bb, files, tiles } = start;
  const totalChannels = bb.levels.reduce((a, l) => a + l.channels, 0);
  if (o.channels !== undefined && !(o.channels >= 1 && o.channels <= totalChannels)) {
    throw new InspectdError(
      `--channels ${o.channels} is out of range: the layers give ${totalChannels} channels`,
      {
        subject: '--channels',
        value: o.channels,
        fix: `pass 1..${totalChannels}, or leave it out to keep all`,
      },
    );
  }
  const subset =
    o.channels !== undefined && o.channels < totalChannels
      ? randomChannelSubset(totalChannels, o.channels, o.channelSeed)
      : undefined;
  const grid: GaussianGrid = {
    channels: subset?.length ?? totalChannels,
    height: bb.levels[0].height,
    width: bb.levels[0].width,
  };
  // Every tile of every image is a sample of the per-position Gaussian (1 tile per image without --tile).
  const samples = files.length * tiles;
  const what = tiles > 1 ? `${samples} tiles of ${files.length} images` : `${files.length} images`;
  log.info(
    { levels: bb.levels, grid, images: files.length, samples },
    `fitting gaussian on ${what}: ${grid.channels} channels on a ${grid.height}x${grid.width} grid`,
  );
  if (samples <= grid.channels) {
    log.warn(
      { samples, channels: grid.channels },
      `${what} for ${grid.channels} channels: the covariance is rank-deficient and eps*I (${o.eps}) carries it; more good images make a steadier recipe`,
    );
  }

  // 1. Moments, streamed.
  let t = performance.now();
  const skipped: SkippedImage[] = [];
  const { acc, images } = await accumulateMoments(start, grid, subset, o, log, skipped);
  timings.lap('features_and_moments', t);
  if (images < o.minImages) throw tooFewImages(o, images, skipped.length, advice(o));

  // 2. Mean and precision per position.
  t = performance.now();
  const { mean, precision, failedPositions } = await estimateInParallel(acc, o.eps, o.threads);
  timings.lap('inverse', t);
  if (failedPositions.length) {
    throw new InspectdError(
      `covariance is not positive definite at ${failedPositions.length} grid positions even with eps ${o.eps}`,
      {
        subject: '--eps',
        value: o.eps,
        fix: 'raise --eps (e.g. 0.1) or add more varied good images',
      },
    );
  }

  // 3. The recipe model: backbone + fusion + Mahalanobis + upsample/blur/max, one graph; then the threshold.
  const b = new GraphBuilder(bb.opset);
  const fused = fuseLevels(
    b,
    bb.levels.map((l) => l.name),
    subset,
  );
  mapToOutputs(b, mahalanobisMap(b, fused, { ...grid, mean, precision }), bb.inputName, o.blurSigma);
  return finishRecipe(
    o,
    {
      start,
      head: b,
      params: {
        eps: o.eps,
        layers: bb.levels.map((l) => l.name),
        channels: grid.channels,
        totalChannels,
        channelSeed: subset ? o.channelSeed : null,
        channelSubset: subset ?? null,
        grid: [grid.height, grid.width],
        blurSigma: o.blurSigma,
        samples: acc.count,
      },
      used: images,
      skipped,
      timings,
    },
    log,
  );
}

async function accumulateMoments(
  start: FitStart,
  grid: GaussianGrid,
  subset: number[] | undefined,
  o: GaussianFitOptions,
  log: Logger,
  skipped: SkippedImage[],
): Promise<{ acc: MomentAccumulator; images: number }> {
  const b = new GraphBuilder(start.bb.opset);
  const fused = fuseLevels(
    b,
    start.bb.levels.map((l) => l.name),
    subset,
  );
  const { sum, outer } = momentNodes(b, fused, SHIFT_INPUT, grid);
  b.opNamed(MOMENT_SUM, 'Identity', [sum]);
  b.opNamed(MOMENT_OUTER, 'Identity', [outer]);
  const P = grid.height * grid.width;
  const C = grid.channels;
  const acc = new MomentAccumulator(grid);
  const zeroShift = new ort.Tensor('float32', new Float32Array(P * C), [P, 1, C]);
  const images = await streamBatches(
    start,
    b,
    [
      { name: MOMENT_SUM, dims: [P, C] },
      { name: MOMENT_OUTER, dims: [P, C, C] },
    ],
    o,
    log,
    skipped,
    async (run, n) => {
      if (acc.count === 0) {
        // Shift = the first batch's mean (its sum about zero / n), then the batch is counted about that shift.
        const first = await run({ [SHIFT_INPUT]: zeroShift }, [MOMENT_SUM]);
        const s = first[MOMENT_SUM].data as Float32Array;
        for (let i = 0; i < s.length; i++) acc.shift[i] = s[i] / n;
      }
      const out = await run({ [SHIFT_INPUT]: new ort.Tensor('float32', acc.shift, [P, 1, C]) });
      acc.add(out[MOMENT_SUM].data as Float32Array, out[MOMENT_OUTER].data as Float32Array, n);
    },
    [
      {
        name: SHIFT_INPUT,
        type: {
          tensorType: { elemType: 1, shape: { dim: [{ dimValue: P }, { dimValue: 1 }, { dimValue: C }] } },
        },
      },
    ],
  );
  return { acc, images };
}
