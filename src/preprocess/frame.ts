import type { Frame } from '../core/frame.js';
import type { InputSpec } from '../core/inputSpec.js';
import { decodeImage, toNormalizedChw, type DecodedImage } from './image.js';

export interface PreparedFrame {
  /** [1,C,H,W] model input. */
  tensor: Float32Array;
  /** The frame at the recipe's size, 8-bit, as the model saw it (thumbnails, archive, overlays). */
  image: DecodedImage;
}

/** Frame -> model input: decode (encoded files) or wrap raw pixels, resize, convert, normalize. */
export async function prepareFrame(frame: Frame, spec: InputSpec): Promise<PreparedFrame> {
  const label = frame.origin ?? `${frame.cameraId}#${frame.seq}`;
  const raw =
    frame.pixelFormat === 'encoded'
      ? undefined
      : {
          width: frame.width,
          height: frame.height,
          channels: frame.pixelFormat === 'mono8' ? (1 as const) : (3 as const),
        };
  const image = await decodeImage(frame.data, spec, label, raw);
  const tensor = new Float32Array(spec.channels * spec.width * spec.height);
  toNormalizedChw(image, spec, tensor, 0);
  return { tensor, image };
}
