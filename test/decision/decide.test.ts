import { describe, expect, it } from 'vitest';
import { decide } from '../../src/decision/decide.js';

const W = 10;
const H = 8;
const map = (spots: [number, number, number][]): Float32Array => {
  const m = new Float32Array(W * H).fill(1);
  for (const [x, y, v] of spots) m[y * W + x] = v;
  return m;
};

describe('decision', () => {
  it('NG exactly when the score is above the threshold; normalized score = score / threshold', () => {
    const p = { threshold: 5, minRegionArea: 1, maxRegions: 10 };
    expect(decide(5, map([]), W, H, p)).toMatchObject({ ok: true, normalizedScore: 1, regions: [] });
    expect(decide(5.01, map([[1, 1, 5.01]]), W, H, p).ok).toBe(false);
    expect(decide(2.5, map([]), W, H, p).normalizedScore).toBe(0.5);
  });

  it('regions: 8-connected areas above the pixel threshold with box, area and peak, highest peak first', () => {
    const m = map([
      [1, 1, 6],
      [2, 2, 7], // diagonal neighbour: same region
      [7, 5, 9],
      [8, 5, 8],
      [8, 6, 6],
    ]);
    const d = decide(9, m, W, H, { threshold: 5, minRegionArea: 1, maxRegions: 10 });
    expect(d.regions).toEqual([
      { x: 7, y: 5, width: 2, height: 2, area: 3, peak: 9 },
      { x: 1, y: 1, width: 2, height: 2, area: 2, peak: 7 },
    ]);
  });

  it('small regions are dropped and the count is capped', () => {
    const m = map([
      [0, 0, 6],
      [5, 5, 7],
      [6, 5, 7],
      [9, 0, 8],
      [9, 1, 8],
    ]);
    expect(
      decide(8, m, W, H, { threshold: 5, minRegionArea: 2, maxRegions: 10 }).regions.map((r) => r.peak),
    ).toEqual([8, 7]);
    expect(decide(8, m, W, H, { threshold: 5, minRegionArea: 1, maxRegions: 1 }).regions).toHaveLength(1);
  });

  it('a separate pixel threshold marks regions below the image threshold', () => {
    const d = decide(4, map([[3, 3, 4]]), W, H, {
      threshold: 5,
      pixelThreshold: 3,
      minRegionArea: 1,
      maxRegions: 5,
    });
    expect(d.ok).toBe(true);
    expect(d.regions).toHaveLength(1);
  });

  it('an NG verdict always names where: the highest-peak region however small, else the area of the map maximum', () => {
    const p = { threshold: 5, minRegionArea: 4, maxRegions: 10 };
    // One pixel above the threshold: smaller than minRegionArea, still reported for an NG.
    const small = decide(6, map([[4, 2, 6]]), W, H, p);
    expect(small.ok).toBe(false);
    expect(small.regions).toEqual([{ x: 4, y: 2, width: 1, height: 1, area: 1, peak: 6 }]);
    // The same map on an OK frame: small regions are noise and stay out.
    expect(decide(4, map([[4, 2, 6]]), W, H, p).regions).toEqual([]);
    // An image score above the threshold while the map never crosses it: the area around the map's maximum.
    const quiet = decide(
      7,
      map([
        [6, 6, 3],
        [7, 6, 2.9],
      ]),
      W,
      H,
      p,
    );
    expect(quiet.regions).toEqual([{ x: 6, y: 6, width: 2, height: 1, area: 2, peak: 3 }]);
    // A flat map: the whole of it.
    expect(decide(7, map([]), W, H, p).regions).toEqual([
      { x: 0, y: 0, width: W, height: H, area: W * H, peak: 1 },
    ]);
  });
});
