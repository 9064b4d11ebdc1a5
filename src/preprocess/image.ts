import { readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { InspectdError, messageOf } from '../core/errors.js';
import type { InputSpec } from '../core/inputSpec.js';

export interface DecodedImage {
  /** Interleaved RGB (or gray when `channels` is 1), 8 bits, at the recipe's input size. */
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 3;
  /** Size and channel count of the file before conversion. */
  original: { width: number; height: number; channels: number };
}

/**
 * Reads an image file and brings it to the recipe's input: resized (bilinear, stretched to the exact size
 * as the reference PaDiM does), alpha dropped, gray converted to RGB when the model wants RGB.
 * Errors name the file and say what is wrong with it.
 */
export async function decodeImageFile(file: string, spec: InputSpec): Promise<DecodedImage> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (e) {
    throw new InspectdError(`image ${file} cannot be read: ${messageOf(e)}`, {
      subject: file,
      fix: 'check the path and its permissions',
    });
  }
  if (size === 0) {
    throw new InspectdError(`image ${file} is empty (0 bytes)`, {
      subject: file,
      fix: 'the file was not written completely; re-copy it',
    });
  }
  return decodeImage(await readFile(file), spec, file);
}

export interface RawLayout {
  width: number;
  height: number;
  channels: 1 | 3;
}

/** Decodes an encoded image (PNG, JPEG...) or, with `raw`, takes packed pixels as they are. */
export async function decodeImage(
  buf: Buffer,
  spec: InputSpec,
  label: string,
  raw?: RawLayout,
): Promise<DecodedImage> {
  try {
    if (raw && buf.length !== raw.width * raw.height * raw.channels) {
      throw new Error(`${buf.length} bytes do not make ${raw.width}x${raw.height}x${raw.channels} pixels`);
    }
    // failOn 'truncated' turns a half-written JPEG/PNG into an error instead of a gray-filled image.
    const img = raw ? sharp(buf, { raw }) : sharp(buf, { failOn: 'truncated' });
    // Raw frames state their layout; asking libvips would cost a thread-pool round trip per frame.
    const meta = raw ?? (await img.metadata());
    const { data, info } = await img
      .resize(spec.width, spec.height, { fit: 'fill', kernel: 'linear' })
      .removeAlpha()
      .toColourspace(spec.channels === 1 ? 'b-w' : 'srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== spec.channels) {
      throw new Error(`decoder gave ${info.channels} channels, expected ${spec.channels}`);
    }
    return {
      data,
      width: info.width,
      height: info.height,
      channels: spec.channels,
      original: { width: meta.width ?? 0, height: meta.height ?? 0, channels: meta.channels ?? 0 },
    };
  } catch (e) {
    if (e instanceof InspectdError) throw e;
    throw new InspectdError(`image ${label} cannot be decoded: ${messageOf(e)}`, {
      subject: label,
      fix: 'the file is corrupt, truncated or not an image (JPEG, PNG, TIFF, WebP, BMP via sharp); replace or remove it',
    });
  }
}

/** HWC uint8 -> normalized CHW float32, written at `offset` into a batch tensor. */
export function toNormalizedChw(img: DecodedImage, spec: InputSpec, out: Float32Array, offset: number): void {
  const { width: W, height: H, channels: C } = img;
  const plane = W * H;
  for (let c = 0; c < C; c++) {
    const scale = 1 / (255 * spec.std[c]);
    const shift = spec.mean[c] / spec.std[c];
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = img.data[i * C + c] * scale - shift;
  }
}
