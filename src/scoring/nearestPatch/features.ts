import type { GraphBuilder } from '../../onnx/graphBuilder.js';
import { fuseLevels } from '../fusion.js';

/**
 * PatchCore's locally aware patch features: every level averaged over its 3x3 neighbourhood (stride 1, zero
 * padding counted, as anomalib's AvgPool2d(3, 1, 1)), so a patch carries its surroundings, then fused as for
 * the Gaussian (bilinear to the finest grid, concatenated). Output [N, C, H, W].
 */
export function locallyAwareFeatures(b: GraphBuilder, levels: readonly string[], kernel = 3): string {
  const r = (kernel - 1) / 2;
  const pooled = levels.map((l) =>
    kernel > 1
      ? b.op('AveragePool', [l], {
          kernel_shape: [kernel, kernel],
          strides: [1, 1],
          pads: [r, r, r, r],
          count_include_pad: 1,
        })
      : l,
  );
  return fuseLevels(b, pooled);
}

/** Features [N,C,H,W] as patch rows [N, P, C] (P = H*W, row-major positions). */
export function patchRows(b: GraphBuilder, features: string, channels: number): string {
  const flat = b.op('Reshape', [features, b.int64('shape', [0, channels, -1])]);
  return b.op('Transpose', [flat], { perm: [0, 2, 1] });
}
