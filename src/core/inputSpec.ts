import type { Tiling } from './tiling.js';

/** What a model expects as input; recorded in every recipe's manifest. */
export interface InputSpec {
  /** ONNX input name. */
  name: string;
  /** The size every frame is resized to: the model's input, or with `tiling` the canvas cut into tiles. */
  width: number;
  height: number;
  channels: 1 | 3;
  /** Per-channel mean and std applied after scaling pixels to [0,1]. */
  mean: number[];
  std: number[];
  /**
   * How images were brought to width x height when the recipe was fitted: `stretch-linear-front` by the
   * recipe graph's own front (as every frame is now); `stretch-bilinear` by sharp, before the front existed.
   */
  resize: 'stretch-linear-front' | 'stretch-bilinear';
  /** Set when the recipe scores tiles of the canvas (`fit --tile`); absent in recipes that score it whole. */
  tiling?: Tiling;
}

/** The size the model itself takes: the tile of a tiled recipe, else the whole input. */
export const modelInputSize = (spec: InputSpec): Size =>
  spec.tiling
    ? { width: spec.tiling.width, height: spec.tiling.height }
    : { width: spec.width, height: spec.height };

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/** A recipe's input size as `fit --size` takes it: "N" (square) or "WxH". */
export interface Size {
  width: number;
  height: number;
}

/** Smallest and largest side `fit --size` accepts, in pixels. */
export const SIZE_RANGE = { min: 32, max: 4096 } as const;

/** "224" -> 224x224, "448x224" -> width 448, height 224; undefined when it is neither or out of range. */
export function parseSize(text: unknown): Size | undefined {
  const m = typeof text === 'number' ? [String(text), String(text)] : /^(\d+)(?:x(\d+))?$/.exec(String(text));
  if (!m) return undefined;
  const width = Number(m[1]);
  const height = Number(m[2] ?? m[1]);
  const ok = (v: number) => Number.isInteger(v) && v >= SIZE_RANGE.min && v <= SIZE_RANGE.max;
  return ok(width) && ok(height) ? { width, height } : undefined;
}
