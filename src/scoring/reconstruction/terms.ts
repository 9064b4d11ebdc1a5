import type { GraphBuilder } from '../../onnx/graphBuilder.js';

/*
 * The per-image terms of the autoencoder recipes (S004 hybrid, S000 multi-level) as graph fragments. Each
 * returns a map [N,1,h,w] (or [N,1,1,1] for a per-image constant), so terms add with broadcasting and go
 * through the shared map tail (upsample, blur, max).
 */

/** Mean over channels of (a - b)^2: [N,C,h,w] x2 -> [N,1,h,w]. */
export function squaredErrorMap(b: GraphBuilder, a: string, c: string, channels: number): string {
  const d = b.op('Sub', [a, c], {}, 'diff');
  const sq = b.op('Mul', [d, d], {}, 'sq');
  return scale(b, b.reduceSum(sq, [1], true), 1 / channels, 'per_channel');
}

/**
 * S004's L1 = ||Z - C||_2 over the whole latent, as a per-image constant map [N,1,1,1].
 * `center` is C, [1, ...z's dims after N].
 */
export function centerDistance(
  b: GraphBuilder,
  z: string,
  center: Float32Array,
  dims: readonly number[],
): string {
  const c = b.float32('center', [1, ...dims], center);
  const d = b.op('Sub', [z, c], {}, 'z_minus_c');
  const axes = dims.map((_, i) => i + 1);
  const sum = b.reduceSum(b.op('Mul', [d, d], {}, 'sq'), axes, false);
  // [N] -> [N,1,1,1] so it broadcasts over a map.
  const shape = b.int64('shape', [-1, 1, 1, 1]);
  return b.op('Reshape', [b.op('Sqrt', [sum], {}, 'l1'), shape], {}, 'l1_map');
}

export function scale(b: GraphBuilder, x: string, factor: number, hint = 'scaled'): string {
  return b.op('Mul', [x, b.float32(`${hint}_factor`, [1], Float32Array.of(factor))], {}, hint);
}

/** sum_k weight_k * term_k (broadcasting: per-image constants add to every pixel). */
export function weightedSum(b: GraphBuilder, terms: readonly { map: string; weight: number }[]): string {
  const scaled = terms.map((t, i) => scale(b, t.map, t.weight, `term${i}`));
  return scaled.reduce((acc, t) => b.op('Add', [acc, t], {}, 'sum'));
}
