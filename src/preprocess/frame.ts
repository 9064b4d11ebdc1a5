import sharp from 'sharp';
import { InspectdError, messageOf } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { InputSpec } from '../core/inputSpec.js';
import { decodeNative } from './image.js';

/** 8-bit frames, all of one size: [n, height, width, channels] packed, channels 1 (mono) or 3 (RGB). */
export interface PixelBatch {
  data: Uint8Array;
  n: number;
  height: number;
  width: number;
  channels: 1 | 3;
}

/**
 * A frame as a recipe's graph takes it (see `front.ts`). Raw camera pixels pass as they are, at the camera's
 * size: the graph resizes and normalizes them, so no pixel is touched in JavaScript. Encoded frames (files,
 * replays) are decoded by sharp at their own size and go the same way. An RGB frame for a gray model is
 * converted by sharp, the only raw case the graph does not take.
 */
export async function framePixels(frame: Frame, spec: InputSpec): Promise<PixelBatch> {
  const label = frame.origin ?? `${frame.cameraId}#${frame.seq}`;
  if (frame.pixelFormat === 'encoded') {
    const img = await decodeNative(frame.data, spec, label);
    return { data: img.data, n: 1, height: img.height, width: img.width, channels: img.channels };
  }
  const { width, height } = frame;
  const channels = frame.pixelFormat === 'mono8' ? 1 : 3;
  if (frame.data.length !== width * height * channels || width < 1 || height < 1) {
    throw new InspectdError(
      `frame ${label}: ${frame.data.length} bytes do not make ${width}x${height} ${frame.pixelFormat} pixels`,
      { subject: label, value: frame.data.length, fix: 'check the camera pixel format and size settings' },
    );
  }
  if (channels === 3 && spec.channels === 1) {
    try {
      const data = await sharp(frame.data, { raw: { width, height, channels } })
        .toColourspace('b-w')
        .raw()
        .toBuffer();
      return { data, n: 1, height, width, channels: 1 };
    } catch (e) {
      throw new InspectdError(`frame ${label} cannot be converted to gray: ${messageOf(e)}`, {
        subject: label,
      });
    }
  }
  return { data: frame.data, n: 1, height, width, channels };
}
