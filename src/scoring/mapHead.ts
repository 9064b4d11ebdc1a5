import type { GraphBuilder } from '../onnx/graphBuilder.js';

export const SCORE_OUTPUT = 'score';
export const MAP_OUTPUT = 'anomaly_map';

/** PaDiM's blur: Gaussian, sigma 4, truncated at 4 sigma (33 taps), normalized to sum 1. */
export function gaussianKernel1d(sigma: number): Float32Array {
  const radius = Math.round(4 * sigma);
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = 0; i < k.length; i++) {
    k[i] = Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma));
    sum += k[i];
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/**
 * Shared tail of every scoring head: a coarse map [N,1,h,w] -> upsampled to the input image's size,
 * blurred (separable Gaussian, zero padding as PaDiM), image score = max of the map.
 * Writes the graph outputs `anomaly_map` [N,1,H,W] and `score` [N].
 */
export function mapToOutputs(b: GraphBuilder, coarseMap: string, input: string, blurSigma: number): void {
  const up = b.resizeBilinearLike(coarseMap, input);
  let blurred = up;
  if (blurSigma > 0) {
    const k = gaussianKernel1d(blurSigma);
    const r = (k.length - 1) / 2;
    const horiz = b.op('Conv', [up, b.float32('blur_x', [1, 1, 1, k.length], k)], { pads: [0, r, 0, r] });
    blurred = b.op('Conv', [horiz, b.float32('blur_y', [1, 1, k.length, 1], k)], { pads: [r, 0, r, 0] });
  }
  b.opNamed(MAP_OUTPUT, 'Identity', [blurred]);
  b.opNamed(SCORE_OUTPUT, 'Identity', [b.reduceMax(blurred, [1, 2, 3], false)]);
}
