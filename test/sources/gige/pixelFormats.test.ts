import { describe, expect, it } from 'vitest';
import {
  Pfnc,
  PixelFormatError,
  convertToPipeline,
  imageBytes,
  pfncBitsPerPixel,
  pfncName,
} from '../../../src/sources/gige/pixelFormats.js';

const conv = (code: number, w: number, h: number, bytes: number[], paddingX?: number) => {
  const r = convertToPipeline(code, w, h, Buffer.from(bytes), { paddingX });
  return { pixelFormat: r.pixelFormat, data: [...r.data] };
};

describe('PFNC pixel formats', () => {
  it('names codes and reads their bits per pixel', () => {
    expect(pfncName(0x01080001)).toBe('Mono8');
    expect(pfncName(0x12345678)).toBe('0x12345678');
    expect(pfncBitsPerPixel(Pfnc.Mono12Packed)).toBe(12);
    expect(pfncBitsPerPixel(Pfnc.RGB8)).toBe(24);
    expect(imageBytes(Pfnc.Mono8, 640, 480)).toBe(307200);
    expect(imageBytes(Pfnc.Mono12Packed, 3, 1)).toBe(5); // 36 bits
    expect(imageBytes(Pfnc.Mono8, 3, 2, 1, 4)).toBe(12);
  });

  it('Mono8, with and without row padding', () => {
    expect(conv(Pfnc.Mono8, 2, 2, [1, 2, 3, 4])).toEqual({ pixelFormat: 'mono8', data: [1, 2, 3, 4] });
    expect(conv(Pfnc.Mono8, 2, 2, [1, 2, 0, 3, 4, 0], 1).data).toEqual([1, 2, 3, 4]);
  });

  it('Mono10 / Mono12 / Mono16 unpacked little-endian to their top 8 bits', () => {
    const le = (vals: number[]): number[] => vals.flatMap((v) => [v & 0xff, v >> 8]);
    expect(conv(Pfnc.Mono10, 3, 1, le([0x3ff, 0x200, 0x004])).data).toEqual([0xff, 0x80, 0x01]);
    expect(conv(Pfnc.Mono12, 3, 1, le([0xfff, 0x800, 0x010])).data).toEqual([0xff, 0x80, 0x01]);
    expect(conv(Pfnc.Mono16, 2, 1, le([0xffff, 0x1234])).data).toEqual([0xff, 0x12]);
  });

  it('Mono12Packed / Mono10Packed (GigE Vision: 3 bytes per 2 pixels)', () => {
    // p0 = 0xABC, p1 = 0x123: byte0 = 0xAB, byte1 = p1 low nibble << 4 | p0 low nibble = 0x3C, byte2 = 0x12.
    expect(conv(Pfnc.Mono12Packed, 2, 1, [0xab, 0x3c, 0x12]).data).toEqual([0xab, 0x12]);
    // Odd pixel count: 3 pixels in 5 bytes.
    expect(conv(Pfnc.Mono12Packed, 3, 1, [0xab, 0x3c, 0x12, 0xff, 0x0f]).data).toEqual([0xab, 0x12, 0xff]);
    // Mono10Packed: p0 = 0x3FF (byte0 = 0xFF, 2 LSBs in byte1 bits 0-1), p1 = 0x001 (byte2 = 0x00).
    expect(conv(Pfnc.Mono10Packed, 2, 1, [0xff, 0x13, 0x00]).data).toEqual([0xff, 0x00]);
  });

  it('Mono12p / Mono10p (PFNC LSB-first bit stream)', () => {
    // p0 = 0xABC, p1 = 0x123: bytes 0xBC, 0x3A (p1 low nibble 3 << 4 | p0 high nibble A), 0x12.
    expect(conv(Pfnc.Mono12p, 2, 1, [0xbc, 0x3a, 0x12]).data).toEqual([0xab, 0x12]);
    // Mono10p: 4 pixels in 5 bytes; p = 0x3FF, 0x000, 0x2AA, 0x155.
    const bits = [0x3ff, 0x000, 0x2aa, 0x155].reduce((acc, v, i) => acc | (BigInt(v) << BigInt(10 * i)), 0n);
    const bytes = [0, 1, 2, 3, 4].map((i) => Number((bits >> BigInt(8 * i)) & 0xffn));
    expect(conv(Pfnc.Mono10p, 4, 1, bytes).data).toEqual([0xff, 0x00, 0xaa, 0x55]);
  });

  it('RGB8 and BGR8', () => {
    expect(conv(Pfnc.RGB8, 2, 1, [1, 2, 3, 4, 5, 6])).toEqual({
      pixelFormat: 'rgb8',
      data: [1, 2, 3, 4, 5, 6],
    });
    expect(conv(Pfnc.BGR8, 2, 1, [3, 2, 1, 6, 5, 4])).toEqual({
      pixelFormat: 'rgb8',
      data: [1, 2, 3, 4, 5, 6],
    });
  });

  it('Bayer 8-bit patterns demosaic a flat colour exactly', () => {
    // A flat (R, G, B) = (200, 100, 50) scene seen through each pattern, 4x4 and an odd 3x3.
    const value = { R: 200, G: 100, B: 50 };
    const patterns = { BayerRG8: 'RGGB', BayerGR8: 'GRBG', BayerGB8: 'GBRG', BayerBG8: 'BGGR' } as const;
    for (const [name, p] of Object.entries(patterns)) {
      for (const [w, h] of [
        [4, 4],
        [3, 3],
      ]) {
        const raw: number[] = [];
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) raw.push(value[p[(y & 1) * 2 + (x & 1)] as 'R' | 'G' | 'B']);
        const out = conv(Pfnc[name as keyof typeof patterns], w, h, raw);
        expect(out.pixelFormat).toBe('rgb8');
        expect(out.data, `${name} ${w}x${h}`).toEqual(
          Array.from({ length: w * h }, () => [200, 100, 50]).flat(),
        );
      }
    }
    // Two greens of a cell are averaged.
    expect(conv(Pfnc.BayerRG8, 2, 2, [10, 20, 40, 30]).data).toEqual([
      10, 30, 30, 10, 30, 30, 10, 30, 30, 10, 30, 30,
    ]);
  });

  it('refuses unknown formats and short buffers with a fix', () => {
    expect(() => convertToPipeline(0x01100009, 2, 2, Buffer.alloc(8))).toThrow(PixelFormatError);
    try {
      convertToPipeline(0x01100009, 2, 2, Buffer.alloc(8));
    } catch (e) {
      expect((e as PixelFormatError).describe()).toMatch(/fix: set the camera's PixelFormat to one of Mono8/);
    }
    expect(() => convertToPipeline(Pfnc.RGB8, 2, 2, Buffer.alloc(11))).toThrow(/needs 12 bytes/);
  });
});
