/**
 * PFNC (GenICam Pixel Format Naming Convention) codes a GigE camera streams, and their conversion to what the
 * pipeline takes: `mono8` or `rgb8` (see {@link Frame}).
 *
 * A PFNC code carries the bits per pixel in bits 16..23 (0x01080001 = Mono8: 8 bits, 0x010C0006 =
 * Mono12Packed: 12 bits).
 */
import type { PixelFormat } from '../../core/frame.js';
import { InspectdError } from '../../core/errors.js';

export const Pfnc = {
  Mono8: 0x01080001,
  Mono10: 0x01100003,
  Mono10Packed: 0x010c0004,
  Mono12: 0x01100005,
  Mono12Packed: 0x010c0006,
  Mono16: 0x01100007,
  Mono10p: 0x010a0046,
  Mono12p: 0x010c0047,
  BayerGR8: 0x01080008,
  BayerRG8: 0x01080009,
  BayerGB8: 0x0108000a,
  BayerBG8: 0x0108000b,
  RGB8: 0x02180014,
  BGR8: 0x02180015,
} as const;

export type PfncName = keyof typeof Pfnc;

const NAMES = new Map<number, PfncName>(Object.entries(Pfnc).map(([k, v]) => [v, k as PfncName]));

/** `Mono8`, or `0x01234567` for a code not in {@link Pfnc}. */
export function pfncName(code: number): string {
  return NAMES.get(code) ?? `0x${(code >>> 0).toString(16).padStart(8, '0')}`;
}

/** Bits per pixel, from the code itself (works for codes this module cannot convert). */
export const pfncBitsPerPixel = (code: number): number => (code >>> 16) & 0xff;

/**
 * Bytes of one image as GVSP sends it: rows of ceil(width * bpp / 8) bytes plus `paddingX`, then `paddingY`
 * at the end. Packed formats with paddingX = 0 pack across rows (the whole image is one bit stream).
 */
export function imageBytes(code: number, width: number, height: number, paddingX = 0, paddingY = 0): number {
  const bpp = pfncBitsPerPixel(code);
  if (paddingX === 0) return Math.ceil((width * height * bpp) / 8) + paddingY;
  return (Math.ceil((width * bpp) / 8) + paddingX) * height + paddingY;
}

export class PixelFormatError extends InspectdError {
  constructor(message: string, details: { subject?: string; value?: unknown; fix?: string } = {}) {
    super(message, details);
    this.name = 'PixelFormatError';
  }
}

export interface ConvertedImage {
  pixelFormat: Extract<PixelFormat, 'mono8' | 'rgb8'>;
  data: Buffer;
}

/** Whether {@link convertToPipeline} handles this code. */
export const isSupportedPixelFormat = (code: number): boolean => NAMES.has(code);

/**
 * Converts a GVSP image to `mono8` (monochrome formats: the top 8 bits of each pixel) or `rgb8` (color and
 * Bayer formats; Bayer is demosaiced by a 2x2 cell: every pixel of a cell gets the cell's R, mean G and B).
 * `data` may be longer than the image (trailing padding); a shorter one is an error.
 */
export function convertToPipeline(
  code: number,
  width: number,
  height: number,
  data: Buffer,
  opts: { paddingX?: number } = {},
): ConvertedImage {
  const name = NAMES.get(code);
  if (!name)
    throw new PixelFormatError(`GigE pixel format ${pfncName(code)} is not supported`, {
      subject: 'PixelFormat',
      value: code,
      fix: `set the camera's PixelFormat to one of ${Object.keys(Pfnc).join(', ')}`,
    });
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new PixelFormatError(`image size ${width}x${height} is invalid`);
  const paddingX = opts.paddingX ?? 0;
  const need = imageBytes(code, width, height, paddingX);
  if (data.length < need)
    throw new PixelFormatError(
      `${name} ${width}x${height} needs ${need} bytes, the image has ${data.length}`,
      { value: data.length },
    );
  const bpp = pfncBitsPerPixel(code);
  const stride = Math.ceil((width * bpp) / 8) + paddingX;
  const n = width * height;
  switch (name) {
    case 'Mono8':
      return { pixelFormat: 'mono8', data: rows(data, width, height, stride, 1) };
    case 'Mono10':
    case 'Mono12':
    case 'Mono16': {
      const shift = name === 'Mono10' ? 2 : name === 'Mono12' ? 4 : 8;
      const out = Buffer.allocUnsafe(n);
      for (let y = 0; y < height; y++) {
        const row = y * stride;
        for (let x = 0; x < width; x++)
          out[y * width + x] = Math.min(255, data.readUInt16LE(row + 2 * x) >> shift);
      }
      return { pixelFormat: 'mono8', data: out };
    }
    case 'Mono10Packed':
    case 'Mono12Packed': {
      // GigE Vision packed: 2 pixels in 3 bytes, byte 0 = p0's 8 MSBs, byte 2 = p1's 8 MSBs, byte 1 = LSBs.
      const out = Buffer.allocUnsafe(n);
      forEachPackedRow(width, height, stride, paddingX, (src, dst, count) => {
        for (let i = 0; i < count; i++) out[dst + i] = data[src + (i >> 1) * 3 + (i & 1 ? 2 : 0)];
      });
      return { pixelFormat: 'mono8', data: out };
    }
    case 'Mono10p':
    case 'Mono12p': {
      // PFNC "p": a little-endian bit stream, pixel i at bit i * bpp, LSB first.
      const out = Buffer.allocUnsafe(n);
      forEachPackedRow(width, height, stride, paddingX, (src, dst, count) => {
        for (let i = 0; i < count; i++) {
          const bit = i * bpp;
          const byte = src + (bit >> 3);
          const v = (data[byte] | (data[byte + 1] << 8) | ((data[byte + 2] ?? 0) << 16)) >> (bit & 7);
          out[dst + i] = (v & ((1 << bpp) - 1)) >> (bpp - 8);
        }
      });
      return { pixelFormat: 'mono8', data: out };
    }
    case 'RGB8':
      return { pixelFormat: 'rgb8', data: rows(data, width, height, stride, 3) };
    case 'BGR8': {
      const out = Buffer.allocUnsafe(n * 3);
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          const s = y * stride + x * 3;
          const d = (y * width + x) * 3;
          out[d] = data[s + 2];
          out[d + 1] = data[s + 1];
          out[d + 2] = data[s];
        }
      return { pixelFormat: 'rgb8', data: out };
    }
    case 'BayerRG8':
    case 'BayerGR8':
    case 'BayerGB8':
    case 'BayerBG8':
      return { pixelFormat: 'rgb8', data: demosaic2x2(data, width, height, stride, name) };
  }
}

/** Rows of `width * bytesPerPixel` bytes out of rows of `stride` bytes (a view when there is no padding). */
function rows(data: Buffer, width: number, height: number, stride: number, bpp: number): Buffer {
  const rowBytes = width * bpp;
  if (stride === rowBytes) return data.subarray(0, rowBytes * height);
  const out = Buffer.allocUnsafe(rowBytes * height);
  for (let y = 0; y < height; y++) data.copy(out, y * rowBytes, y * stride, y * stride + rowBytes);
  return out;
}

/** Calls `fn(srcByte, dstPixel, count)` per row, or once for the whole image when rows are not padded. */
function forEachPackedRow(
  width: number,
  height: number,
  stride: number,
  paddingX: number,
  fn: (src: number, dst: number, count: number) => void,
): void {
  if (paddingX === 0) return fn(0, 0, width * height);
  for (let y = 0; y < height; y++) fn(y * stride, y * width, width);
}

/**
 * Which of R (0), G (1), B (2) sits at each position of the 2x2 cell, for the Bayer patterns, named by
 * their first row: BayerRG8 = R G / G B.
 */
const BAYER: Record<
  'BayerRG8' | 'BayerGR8' | 'BayerGB8' | 'BayerBG8',
  readonly [number, number, number, number]
> = {
  BayerRG8: [0, 1, 1, 2],
  BayerGR8: [1, 0, 2, 1],
  BayerGB8: [1, 2, 0, 1],
  BayerBG8: [2, 1, 1, 0],
};

function demosaic2x2(
  data: Buffer,
  width: number,
  height: number,
  stride: number,
  name: keyof typeof BAYER,
): Buffer {
  const out = Buffer.allocUnsafe(width * height * 3);
  if (width < 2 || height < 2) {
    // No full cell: grey from the raw values.
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        out.fill(data[y * stride + x], (y * width + x) * 3, (y * width + x) * 3 + 3);
    return out;
  }
  const pattern = BAYER[name];
  const rgb = [0, 0, 0];
  for (let cy = 0; cy < height; cy += 2) {
    // An odd last row/column reuses the cell before it (so the pattern phase stays right).
    const y0 = cy + 1 < height ? cy : cy - 2;
    for (let cx = 0; cx < width; cx += 2) {
      const x0 = cx + 1 < width ? cx : cx - 2;
      rgb[0] = rgb[1] = rgb[2] = 0;
      rgb[pattern[0]] += data[y0 * stride + x0];
      rgb[pattern[1]] += data[y0 * stride + x0 + 1];
      rgb[pattern[2]] += data[(y0 + 1) * stride + x0];
      rgb[pattern[3]] += data[(y0 + 1) * stride + x0 + 1];
      const r = rgb[0];
      const g = (rgb[1] + 1) >> 1;
      const b = rgb[2];
      for (let dy = 0; dy < 2 && cy + dy < height; dy++)
        for (let dx = 0; dx < 2 && cx + dx < width; dx++) {
          const d = ((cy + dy) * width + cx + dx) * 3;
          out[d] = r;
          out[d + 1] = g;
          out[d + 2] = b;
        }
    }
  }
  return out;
}
