import type { Logger } from 'pino';
import { GraphBuilder } from '../onnx/graphBuilder.js';
import type { Manifest } from '../recipe/manifest.js';
import { mapToOutputs } from '../scoring/mapHead.js';
import { centerDistance, squaredErrorMap, weightedSum } from '../scoring/reconstruction/terms.js';
import { inverseMean, startTrainedFit, termPass, type AutoencoderFitOptions } from './fitAutoencoder.js';
import { finishRecipe, FitTimings, tooFewImages } from './fitCommon.js';

const Z = 'z';
const RECON = 'recon';
/** A feature-target model's F, which `recon` reconstructs (train_hybrid.py --target features). */
const TARGET = 'target';

/**
 * fit --method hybrid (S004): the model's latent Z and reconstruction X^ over the good images give the
 * center C = mean Z, L1 = ||Z - C||_2 per image and L2 = the reconstruction error (max of the blurred
 * per-pixel squared error); lambda_k = 1 / mean L_k. The recipe's map is lambda2 * per-pixel error +
 * lambda1 * L1 (a per-image constant: global anomalies raise the whole map), its score the map's max. A
 * feature-target model reconstructs the backbone's levels F, not the image: its error map is per position of
 * F's grid, mean over F's channels.
 */
export async function fitHybrid(o: AutoencoderFitOptions, log: Logger): Promise<Manifest> {
  const timings = new FitTimings();
  const { start, base } = await startTrainedFit(o, 'hybrid', [Z, RECON], log);
  const { bb } = start;
  const zLevel = bb.levels.find((l) => l.name === Z)!;
  const zDims = [zLevel.channels, zLevel.height, zLevel.width];
  const zSize = zDims[0] * zDims[1] * zDims[2];
  const input = bb.inputName;
  const features = bb.metadata['inspectd.target'] === 'features';
  const reconChannels = bb.levels.find((l) => l.name === RECON)!.channels;
  const reconstructionError = (g: GraphBuilder) =>
    squaredErrorMap(g, features ? TARGET : input, RECON, reconChannels);

  // 1. One pass: every image's (with --tile: every tile's) Z and its reconstruction error L2.
  const t = performance.now();
  const zs: Float32Array[] = [];
  const pass = await termPass(start, base, log, reconstructionError, {
    outputs: [{ name: Z, dims: ['N', ...zDims] }],
    onExtra: (v, n) => {
      for (let i = 0; i < n; i++) zs.push(v[Z].slice(i * zSize, (i + 1) * zSize));
    },
  });
  timings.lap('features', t);
  if (pass.images < o.minImages) {
    throw tooFewImages(base, pass.images, pass.skipped.length, {
      need: `the center and weights need at least ${o.minImages}`,
      fix: 'add good images, or lower --min-images (at your own risk)',
    });
  }

  // 2. C, L1 per image, the lambdas.
  const center = meanVector(zs);
  const l1 = zs.map((z) => distance(z, center));
  const lambda1 = inverseMean(l1, 'feature distance (L1)');
  const lambda2 = inverseMean(pass.scores, 'reconstruction (L2)');
  log.info(
    { lambda1, lambda2, meanL1: 1 / lambda1, meanL2: 1 / lambda2 },
    `hybrid: C from ${zs.length} ${start.tiles > 1 ? 'tiles' : 'images'}; lambda1 ${lambda1.toPrecision(4)}, lambda2 ${lambda2.toPrecision(4)}`,
  );

  // 3. The recipe model, the threshold, the manifest.
  const b = new GraphBuilder(bb.opset);
  const map = weightedSum(b, [
    { map: reconstructionError(b), weight: lambda2 },
    { map: centerDistance(b, Z, center, zDims), weight: lambda1 },
  ]);
  mapToOutputs(b, map, input, o.blurSigma);
  return finishRecipe(
    base,
    {
      start,
      head: b,
      params: {
        lambda1,
        lambda2,
        meanL1: 1 / lambda1,
        meanL2: 1 / lambda2,
        latent: zDims,
        centerNorm: Math.hypot(...center),
        target: features ? 'features' : 'pixels',
        reconstructionError: features
          ? `mean over the ${reconChannels} channels of F (s8 and s16 levels, standardized) of the squared error, per s8 position`
          : 'mean over channels of the squared error (normalized input units)',
        blurSigma: o.blurSigma,
        training: trainingSettings(bb.metadata),
      },
      used: pass.images,
      skipped: pass.skipped,
      timings,
    },
    log,
  );
}

/** The training script's settings and wall time, from the model's metadata. */
export function trainingSettings(meta: Record<string, string>): Record<string, unknown> {
  let settings: unknown = meta['inspectd.train_settings'];
  try {
    settings = JSON.parse(String(settings)) as unknown;
  } catch {
    // Keep the raw string: provenance, not behaviour.
  }
  return {
    settings,
    iterations: Number(meta['inspectd.train_iterations']),
    seconds: Number(meta['inspectd.train_seconds']),
    device: meta['inspectd.train_device'],
    images: meta['inspectd.train_images'],
  };
}

function meanVector(vs: readonly Float32Array[]): Float32Array {
  const sum = new Float64Array(vs[0].length);
  for (const v of vs) for (let i = 0; i < v.length; i++) sum[i] += v[i];
  return Float32Array.from(sum, (s) => s / vs.length);
}

function distance(a: Float32Array, c: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - c[i]) ** 2;
  return Math.sqrt(s);
}
