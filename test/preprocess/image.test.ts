import { writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { InputSpec } from '../../src/core/inputSpec.js';
import { decodeImage, decodeImageFile, toNormalizedChw } from '../../src/preprocess/image.js';
import { tempDir } from '../helpers/fixtures.js';

const spec: InputSpec = {
  name: 'input',
  width: 8,
  height: 6,
  channels: 3,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  resize: 'stretch-linear-front',
};

const solid = (channels: 1 | 3 | 4, w = 20, h = 10): Promise<Buffer> =>
  sharp({
    create: {
      width: w,
      height: h,
      channels: channels === 1 ? 3 : channels,
      background: { r: 200, g: 100, b: 50, alpha: 0.5 },
    },
  })
    .toColourspace(channels === 1 ? 'b-w' : 'srgb')
    .png()
    .toBuffer();

describe('image decoding', () => {
  it('resizes to the recipe size and keeps RGB order', async () => {
    const d = await decodeImage(await solid(3), spec, 'rgb');
    expect([d.width, d.height, d.channels]).toEqual([8, 6, 3]);
    expect([...d.data.subarray(0, 3)]).toEqual([200, 100, 50]);
    expect(d.original).toEqual({ width: 20, height: 10, channels: 3 });
  });

  it('turns gray into three equal channels and drops alpha', async () => {
    const g = await decodeImage(await solid(1), spec, 'gray');
    expect(g.original.channels).toBe(1);
    expect(g.data[0]).toBe(g.data[1]);
    expect(g.data[1]).toBe(g.data[2]);
    const a = await decodeImage(await solid(4), spec, 'rgba');
    expect(a.original.channels).toBe(4);
    expect(a.data.length).toBe(8 * 6 * 3);
  });

  it('normalizes to CHW with the recipe mean and std', async () => {
    const d = await decodeImage(await solid(3), spec, 'rgb');
    const out = new Float32Array(2 * 3 * 48);
    toNormalizedChw(d, spec, out, 3 * 48);
    expect(out[0]).toBe(0); // first image slot untouched
    expect(out[3 * 48]).toBeCloseTo((200 / 255 - 0.485) / 0.229, 5);
    expect(out[3 * 48 + 48]).toBeCloseTo((100 / 255 - 0.456) / 0.224, 5);
    expect(out[3 * 48 + 96 + 47]).toBeCloseTo((50 / 255 - 0.406) / 0.225, 5);
  });

  it('names the file and the problem for zero-byte, truncated, corrupt and missing files', async () => {
    const dir = tempDir('img');
    const full = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#123456' } })
      .jpeg()
      .toBuffer();
    const cases: [string, Buffer | null, RegExp][] = [
      ['zero.png', Buffer.alloc(0), /zero\.png is empty \(0 bytes\)/],
      ['half.jpg', full.subarray(0, full.length >> 1), /half\.jpg cannot be decoded/],
      ['junk.png', Buffer.from('not an image'), /junk\.png cannot be decoded/],
      ['absent.png', null, /absent\.png cannot be read/],
    ];
    for (const [name, data, re] of cases) {
      const f = path.join(dir, name);
      if (data) writeFileSync(f, data);
      await expect(decodeImageFile(f, spec)).rejects.toThrow(re);
    }
  });
});
