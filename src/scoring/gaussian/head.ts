import type { GraphBuilder } from '../../onnx/graphBuilder.js';

export interface GaussianParams {
  /** Channels per position. */
  channels: number;
  height: number;
  width: number;
  /** [P, C] means, P = height*width, position-major. */
  mean: Float32Array;
  /** [P, C, C] inverse covariances. */
  precision: Float32Array;
}

/**
 * Mahalanobis distance per position (S003) as graph nodes: features [N,C,H,W] -> map [N,1,H,W].
 * One batched MatMul [P,N,C] x [P,C,C] streams the precision matrices once per batch, which is what makes
 * a batch of images cheaper than one at a time: the 290 MB of Sigma^-1 is memory-bound, not compute-bound.
 */
export function mahalanobisMap(b: GraphBuilder, features: string, p: GaussianParams): string {
  const { channels: C, height: H, width: W } = p;
  const P = H * W;
  const flat = b.op('Reshape', [features, b.int64('shape', [0, C, P])]); // [N,C,P]
  const byPos = b.op('Transpose', [flat], { perm: [2, 0, 1] }); // [P,N,C]
  const centred = b.op('Sub', [byPos, b.float32('gaussian_mean', [P, 1, C], p.mean)]);
  const projected = b.op('MatMul', [centred, b.float32('gaussian_precision', [P, C, C], p.precision)]);
  const squared = b.reduceSum(b.op('Mul', [projected, centred]), [2], false); // [P,N]
  // Rounding can push a tiny distance below zero; sqrt of a negative would be NaN.
  const dist = b.op('Sqrt', [b.op('Relu', [squared])]);
  const perImage = b.op('Transpose', [dist], { perm: [1, 0] }); // [N,P]
  return b.op('Reshape', [perImage, b.int64('shape', [0, 1, H, W])]);
}

/**
 * The fit-time moments graph: features [N,C,H,W] and a shift [P,1,C] -> per position the sum of
 * (y - shift) [P,C] and of its outer products [P,C,C] over the batch. Shifting by an early estimate of the
 * mean keeps the float32 sums well conditioned; the caller accumulates batches in float64.
 */
export function momentNodes(
  b: GraphBuilder,
  features: string,
  shiftInput: string,
  dims: { channels: number; height: number; width: number },
): { sum: string; outer: string } {
  const P = dims.height * dims.width;
  const flat = b.op('Reshape', [features, b.int64('shape', [0, dims.channels, P])]);
  const byPos = b.op('Transpose', [flat], { perm: [2, 0, 1] }); // [P,N,C]
  const d = b.op('Sub', [byPos, shiftInput]);
  const sum = b.reduceSum(d, [1], false); // [P,C]
  const outer = b.op('MatMul', [b.op('Transpose', [d], { perm: [0, 2, 1] }), d]); // [P,C,C]
  return { sum, outer };
}
