import { describe, expect, it } from 'vitest';
import { boxesSvg, heatColour, heatLayer, overlayHeatmap } from '../../src/core/heatmap.js';

const gray = (w: number, h: number, v: number) => ({
  data: new Uint8Array(w * h).fill(v),
  width: w,
  height: h,
  channels: 1 as const,
});
const mapOf = (w: number, h: number, f: (x: number, y: number) => number) => {
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = f(x, y);
  return { data, width: w, height: h };
};
const px = (rgb: Uint8Array, w: number, x: number, y: number) => [
  ...rgb.subarray((y * w + x) * 3, (y * w + x) * 3 + 3),
];

describe('overlayHeatmap', () => {
  it('blends 45 % heat over 55 % image, gray as RGB, at the same size', () => {
    const out = overlayHeatmap(gray(2, 1, 100), mapOf(2, 1, (x) => x).data, 0, 1);
    const blend = (c: number[]) => c.map((h) => Math.round(0.55 * 100 + 0.45 * h));
    expect(px(out, 2, 0, 0)).toEqual(blend(heatColour(0)));
    expect(px(out, 2, 1, 0)).toEqual(blend(heatColour(1)));
  });
});

describe('heatLayer and boxesSvg', () => {
  it('colours the map at its own size with a constant alpha', () => {
    const layer = heatLayer(
      mapOf(2, 1, (x) => x),
      0,
      1,
      0.5,
    );
    expect([...layer]).toEqual([...heatColour(0), 128, ...heatColour(1), 128]);
  });

  it('outlines boxes scaled from map units to the frame, inside each box and pixel-aligned', () => {
    // A box (2,2)-(6,6) on a 10x10 map over a 100x100 frame: 20..60 px, outline 1 px (100 / 200 rounds to 1).
    const svg = boxesSvg([{ x: 2, y: 2, width: 4, height: 4 }], 100, 100, 10, 10);
    expect(svg).toContain('width="100" height="100"');
    expect(svg).toContain(
      '<rect x="20.5" y="20.5" width="39" height="39" fill="none" stroke="#fff" stroke-width="1"/>',
    );
  });
});
