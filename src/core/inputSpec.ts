/** What a model expects as input; recorded in every recipe's manifest. */
export interface InputSpec {
  /** ONNX input name. */
  name: string;
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
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];
