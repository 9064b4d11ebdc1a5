import { readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { InspectdError, messageOf } from '../core/errors.js';
import type { InputSpec } from '../core/inputSpec.js';
import { resizeLikeRecipe } from './resize.js';

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
 * Reads an image file and brings it to the recipe's input: resized (linear, antialiased when it shrinks,
 * stretched to the exact size as the reference PaDiM does), alpha dropped, gray converted to RGB when the
 * model wants RGB.
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

/** An image decoded at its own size, in the recipe's channel count (alpha dropped, colour converted). */
export interface NativeImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 3;
  /** Channel count of the file before conversion, when asked for (it costs a second libvips call). */
  fileChannels?: number;
}

/** Decodes an encoded image (PNG, JPEG, TIFF...) at its own size, in the recipe's colour (gray or RGB). */
export async function decodeNative(
  buf: Buffer,
  spec: InputSpec,
  label: string,
  opts: { fileChannels?: boolean } = {},
): Promise<NativeImage> {
  try {
    // failOn 'truncated' turns a half-written JPEG/PNG into an error instead of a gray-filled image.
    const img = sharp(buf, { failOn: 'truncated' });
    const meta = opts.fileChannels ? await img.metadata() : undefined;
    const { data, info } = await img
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
      fileChannels: meta?.channels,
    };
  } catch (e) {
    throw new InspectdError(`image ${label} cannot be decoded: ${messageOf(e)}`, {
      subject: label,
      fix: 'the file is corrupt, truncated or not an image (JPEG, PNG, TIFF, WebP, BMP via sharp); replace or remove it',
    });
  }
}

/**
 * Decodes an encoded image and brings it to the recipe's input size with the recipe graph's own resize
 * (`resize.ts`), so files are seen as the daemon sees camera frames of the same size.
 */
export async function decodeImage(buf: Buffer, spec: InputSpec, label: string): Promise<DecodedImage> {
  const img = await decodeNative(buf, spec, label, { fileChannels: true });
  const data = await resizeLikeRecipe(img.data, img, spec);
  return {
    data,
    width: spec.width,
    height: spec.height,
    channels: spec.channels,
    original: { width: img.width, height: img.height, channels: img.fileChannels ?? 0 },
  };
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
