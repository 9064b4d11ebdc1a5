import type { InputSpec } from '../core/inputSpec.js';
import type { Tiling } from '../core/tiling.js';
import { defaultOpset, prependFront } from '../onnx/compose.js';
import { GraphBuilder } from '../onnx/graphBuilder.js';
import type { ModelProto } from '../onnx/proto.js';

/** The graph input of a tiled model: the normalized canvas [N, C, canvas height, canvas width]. */
export const CANVAS_INPUT = 'inspectd/canvas';

/**
 * Puts the tiler in front of a model that takes tiles: the model's input `spec.name` [N*T, C, h, w] is cut
 * from the canvas [N, C, H, W] (the new graph input CANVAS_INPUT), the T tiles of each frame next to each
 * other (frame-major, tiles row by row, as `stitchMaps` reads them), so a frame's tiles are one batch of one
 * model run. One Slice per tile, concatenated on the channel axis and reshaped: no tensor larger than the
 * tiles themselves. The model is changed in place and returned.
 */
export function withTiler(model: ModelProto, spec: InputSpec & { tiling: Tiling }): ModelProto {
  const t = spec.tiling;
  const b = new GraphBuilder(defaultOpset(model), 'inspectd/tiler/');
  const axes = b.int64('axes', [2, 3]);
  const tiles = t.ys.flatMap((y) =>
    t.xs.map((x) =>
      b.op('Slice', [
        CANVAS_INPUT,
        b.int64('start', [y, x]),
        b.int64('end', [y + t.height, x + t.width]),
        axes,
      ]),
    ),
  );
  // [N, T*C, h, w] -> [N*T, C, h, w]: frame n's tile k lands at n*T + k.
  const side = tiles.length === 1 ? tiles[0] : b.op('Concat', tiles, { axis: 1 });
  b.opNamed(spec.name, 'Reshape', [side, b.int64('shape', [-1, spec.channels, t.height, t.width])]);
  return prependFront(
    model,
    b,
    { name: CANVAS_INPUT, dims: ['N', spec.channels, spec.height, spec.width] },
    spec.name,
    [],
  );
}
