import type { InputSpec } from '../core/inputSpec.js';
import { defaultOpset, prependFront } from '../onnx/compose.js';
import { GraphBuilder } from '../onnx/graphBuilder.js';
import { upgradeOpset } from '../onnx/opset.js';
import { DataType, type ModelProto } from '../onnx/proto.js';
import { CANVAS_INPUT, withTiler } from './tiler.js';

/** The graph input of a recipe as it runs: 8-bit pixels [N, H, W, C], C = 1 (mono) or 3 (RGB), any H and W. */
export const PIXELS_INPUT = 'pixels';
/** The frame as the model saw it: 8-bit [N, height, width, C] at the recipe's size. */
export const VIEW_OUTPUT = 'view';
/** Antialiased Resize and Resize on 8-bit tensors need opset 18. */
const FRONT_OPSET = 18;

/**
 * The model with its preprocessing in front, in the same graph: camera pixels in, so the caller only copies
 * bytes and, on a GPU, only 8-bit pixels cross to the device. The front resizes to the recipe's size the way
 * sharp (libvips, kernel linear) does, which is how recipes are fitted and files are read: a reduction pass
 * (antialiased, centre-aligned) on the axes that shrink, rounded to 8 bits, then, when an axis grows, libvips'
 * affine pass (sample X/scale - 1/2, edges repeated; an axis of scale 1 moves by half a pixel then too),
 * rounded again. A frame already at the recipe's size passes unchanged. Then the channels-first float
 * normalization (x/255 - mean)/std; a mono frame broadcasts to the three channels of an RGB model.
 * A tiled recipe (`spec.tiling`) gets the tiler between the two: the front makes the canvas, the tiler cuts it
 * into the model's batch of tiles (`tiler.ts`).
 * The model is changed in place (its opset raised to 18 where older) and returned.
 */
export function withPixelFront(model: ModelProto, spec: InputSpec, label: string): ModelProto {
  upgradeOpset(model, FRONT_OPSET, label);
  const target = spec.tiling ? CANVAS_INPUT : spec.name;
  if (spec.tiling) withTiler(model, { ...spec, tiling: spec.tiling });
  const b = new GraphBuilder(defaultOpset(model), 'inspectd/front/');
  const { resized, view } = resizeLikeVips(b, PIXELS_INPUT, spec.height, spec.width);
  b.opNamed(VIEW_OUTPUT, 'Identity', [view]);
  const chw = b.op('Transpose', [resized], { perm: [0, 3, 1, 2] });
  const C = spec.channels;
  const scale = Float32Array.from({ length: C }, (_, c) => 1 / (255 * spec.std[c]));
  const shift = Float32Array.from({ length: C }, (_, c) => -spec.mean[c] / spec.std[c]);
  b.opNamed(target, 'Add', [
    b.op('Mul', [chw, b.float32('scale', [1, C, 1, 1], scale)]),
    b.float32('shift', [1, C, 1, 1], shift),
  ]);
  return prependFront(
    model,
    b,
    { name: PIXELS_INPUT, dims: ['N', 'H', 'W', 'C'], elemType: DataType.UINT8 },
    target,
    [{ name: VIEW_OUTPUT, dims: ['N', spec.height, spec.width, 'C'], elemType: DataType.UINT8 }],
  );
}

/**
 * 8-bit NHWC `x` resized to height x width as libvips' vips_resize with the linear kernel does it: `resized`
 * is float NHWC with whole values in [0, 255], `view` the same in 8 bits. The sampling is worked out in the
 * graph from the input's shape, so one graph takes frames of any size, and a pass that has nothing to do is
 * skipped (If), so a frame at the recipe's size costs two casts. Pass 1 is Resize's own antialiased
 * centre-aligned reduction on the axes that shrink. Pass 2, when an axis grows, samples libvips' affine way,
 * x_in = X m/out - 1/2 (no Resize mode does), rows then columns (`linearAxis`).
 */
function resizeLikeVips(
  b: GraphBuilder,
  x: string,
  height: number,
  width: number,
): { resized: string; view: string } {
  const f = (hint: string, v: number[]) => b.float32(hint, [v.length], Float32Array.from(v));
  const slice = (v: string, start: number, end: number, t = b) =>
    t.op('Slice', [v, b.int64('start', [start]), b.int64('end', [end])]);
  const hwOf = (v: string) => slice(b.op('Shape', [v]), 1, 3);
  const shape = b.op('Shape', [x]);
  const [n, c] = [slice(shape, 0, 1), slice(shape, 3, 4)];
  const sizes = (t: GraphBuilder, hw: string) => t.op('Concat', [n, hw, c], { axis: 0 });
  const any = (bools: string) =>
    b.op('Greater', [
      b.reduceMax(b.op('Cast', [bools], { to: DataType.FLOAT }), [0], false),
      b.float32('zero', [], Float32Array.of(0)),
    ]);
  const outI = b.int64('out', [height, width]);
  // Pass 1: the shrinking axes reduced, in 8 bits like libvips' reduce.
  const hw = slice(shape, 1, 3);
  const [reduced] = b.ifElse(
    any(b.op('Greater', [hw, outI])),
    [DataType.UINT8],
    (t) => {
      // Rows first, rounded to 8 bits, then columns, as libvips does (reducev, then reduceh).
      const hw1 = t.op('Min', [hw, outI]);
      const reduce = (v: string, to: string) =>
        t.op('Resize', [v, '', '', sizes(t, to)], {
          mode: 'linear',
          coordinate_transformation_mode: 'half_pixel',
          antialias: 1,
        });
      const rows = reduce(x, t.op('Concat', [slice(hw1, 0, 1, t), slice(hw, 1, 2, t)], { axis: 0 }));
      return [reduce(rows, hw1)];
    },
    () => [x],
    'reduce',
  );
  // Pass 2: when an axis grows, x_in = X m/out - 1/2 on every axis (m its size after pass 1), edges repeated.
  const m = b.op('Cast', [hwOf(reduced)], { to: DataType.FLOAT });
  const out = f('out', [height, width]);
  const [resized, view] = b.ifElse(
    any(b.op('Less', [m, out])),
    [DataType.FLOAT, DataType.UINT8],
    (t) => {
      const x = t.op('Cast', [reduced], { to: DataType.FLOAT });
      const rows = linearAxis(t, x, 1, slice(m, 0, 1, t), height);
      const grown = linearAxis(t, rows, 2, slice(m, 1, 2, t), width);
      const lo = b.float32('lo', [], Float32Array.of(0));
      const hi = b.float32('hi', [], Float32Array.of(255));
      const rounded = t.op('Clip', [t.op('Round', [grown]), lo, hi]);
      return [rounded, t.op('Cast', [rounded], { to: DataType.UINT8 })];
    },
    (e) => [e.op('Cast', [reduced], { to: DataType.FLOAT }), reduced],
    'enlarge',
  );
  return { resized, view };
}

/**
 * Float NHWC `x` resampled along `axis` (1: rows, 2: columns) from `size` (a [1] float: its length there) to
 * `out`, as libvips' affine linear pass samples: x_in = X size/out - 1/2, clamped to the edges, interpolated
 * between the two neighbours. Gather and arithmetic only: Resize's tf_crop_and_resize mode, which states this
 * sampling in one node, gives wrong pixels under onnxruntime's WebGPU provider.
 */
function linearAxis(t: GraphBuilder, x: string, axis: 1 | 2, size: string, out: number): string {
  const X = t.float32(
    'grid',
    [out],
    Float32Array.from({ length: out }, (_, i) => i),
  );
  const one = t.float32('one', [1], Float32Array.of(1));
  const last = t.op('Sub', [size, one]);
  const at = t.op('Sub', [
    t.op('Mul', [X, t.op('Div', [size, t.float32('outLength', [1], Float32Array.of(out))])]),
    t.float32('half', [1], Float32Array.of(0.5)),
  ]);
  const clamped = t.op('Min', [t.op('Max', [at, t.float32('zero', [1], Float32Array.of(0))]), last]);
  const below = t.op('Floor', [clamped]);
  const index = (v: string) => t.op('Cast', [v], { to: DataType.INT64 });
  const a = t.op('Gather', [x, index(below)], { axis });
  const c = t.op('Gather', [x, index(t.op('Min', [t.op('Add', [below, one]), last]))], { axis });
  const shape = axis === 1 ? [1, out, 1, 1] : [1, 1, out, 1];
  const w = t.op('Reshape', [t.op('Sub', [clamped, below]), t.int64('weightShape', shape)]);
  return t.op('Add', [a, t.op('Mul', [t.op('Sub', [c, a]), w])]);
}
