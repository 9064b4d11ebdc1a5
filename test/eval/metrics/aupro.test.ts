import { describe, expect, it } from 'vitest';
import { auPro } from '../../../src/eval/metrics/index.js';
import { InspectdError } from '../../../src/core/errors.js';
import { rng } from '../../helpers/random.js';

/** 8-connected regions by plain breadth-first search, as lists of pixel indices. */
function referenceRegions(mask: Uint8Array, width: number, height: number): number[][] {
  const seen = new Uint8Array(mask.length);
  const regions: number[][] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    const region: number[] = [];
    const queue = [start];
    seen[start] = 1;
    while (queue.length) {
      const p = queue.shift()!;
      region.push(p);
      const x = p % width;
      const y = Math.floor(p / width);
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const q = ny * width + nx;
          if (mask[q] && !seen[q]) {
            seen[q] = 1;
            queue.push(q);
          }
        }
      }
    }
    regions.push(region);
  }
  return regions;
}

/** The definition, literally: PRO and FPR at every distinct score, trapezoid from (0, 0) to maxFpr. */
function referenceAuPro(
  maps: Float32Array[],
  masks: Uint8Array[],
  width: number,
  height: number,
  maxFpr: number,
): number {
  const regions = maps.flatMap((map, m) =>
    referenceRegions(masks[m], width, height).map((r) => r.map((p) => map[p])),
  );
  const background = maps.flatMap((map, m) => Array.from(map).filter((_, p) => !masks[m][p]));
  const thresholds = [...new Set(maps.flatMap((map) => Array.from(map)))].sort((a, b) => b - a);
  const fprs = [0];
  const pros = [0];
  for (const t of thresholds) {
    fprs.push(background.filter((s) => s >= t).length / background.length);
    pros.push(
      regions.reduce((sum, r) => sum + r.filter((s) => s >= t).length / r.length, 0) / regions.length,
    );
  }
  let area = 0;
  for (let i = 1; i < fprs.length; i++) {
    if (fprs[i - 1] >= maxFpr) break;
    if (fprs[i] > maxFpr) {
      const f = (maxFpr - fprs[i - 1]) / (fprs[i] - fprs[i - 1]);
      const at = pros[i - 1] + f * (pros[i] - pros[i - 1]);
      area += ((maxFpr - fprs[i - 1]) * (pros[i - 1] + at)) / 2;
      break;
    }
    area += ((fprs[i] - fprs[i - 1]) * (pros[i - 1] + pros[i])) / 2;
  }
  return area / maxFpr;
}

/** Random images: some good, the rest with a few random rectangles (which may touch and merge). */
function randomSet(
  rand: () => number,
  images: number,
  width: number,
  height: number,
  score: (defect: boolean) => number,
): { maps: Float32Array[]; masks: Uint8Array[] } {
  const maps: Float32Array[] = [];
  const masks: Uint8Array[] = [];
  for (let m = 0; m < images; m++) {
    const mask = new Uint8Array(width * height);
    if (m % 3 !== 0) {
      const blobs = 1 + Math.floor(rand() * 3);
      for (let b = 0; b < blobs; b++) {
        const w = 1 + Math.floor(rand() * 4);
        const h = 1 + Math.floor(rand() * 4);
        const x0 = Math.floor(rand() * (width - w));
        const y0 = Math.floor(rand() * (height - h));
        for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) mask[y * width + x] = 255;
      }
    }
    const map = new Float32Array(width * height);
    for (let p = 0; p < map.length; p++) map[p] = score(mask[p] !== 0);
    maps.push(map);
    masks.push(mask);
  }
  return { maps, masks };
}

describe('auPro', () => {
  it('is 1 for a perfect map', () => {
    const rand = rng(11);
    const { maps, masks } = randomSet(rand, 7, 16, 12, (defect) => (defect ? 1 + rand() : rand()));
    expect(auPro(maps, masks, 16, 12)).toBeCloseTo(1, 12);
  });

  it('is 0.15 for a constant map (one step from (0, 0) to (1, 1))', () => {
    const { maps, masks } = randomSet(rng(5), 5, 10, 10, () => 0.5);
    expect(auPro(maps, masks, 10, 10)).toBeCloseTo(0.15, 12);
    expect(auPro(maps, masks, 10, 10, 1)).toBeCloseTo(0.5, 12);
  });

  it('is 0 when every defect pixel scores below every good pixel', () => {
    const rand = rng(6);
    const { maps, masks } = randomSet(rand, 5, 10, 10, (defect) => (defect ? -1 - rand() : rand()));
    expect(auPro(maps, masks, 10, 10)).toBe(0);
  });

  it('matches the definition on small random data with ties', () => {
    const rand = rng(42);
    for (let trial = 0; trial < 12; trial++) {
      const width = 8 + Math.floor(rand() * 10);
      const height = 6 + Math.floor(rand() * 8);
      // One decimal, negatives included: many ties within and across regions and background.
      const { maps, masks } = randomSet(
        rand,
        6,
        width,
        height,
        (defect) => Math.round((rand() * 2 - 1 + (defect ? 0.6 : 0)) * 10) / 10,
      );
      for (const maxFpr of [0.3, 0.05, 0.5, 1]) {
        const want = referenceAuPro(maps, masks, width, height, maxFpr);
        expect(Math.abs(auPro(maps, masks, width, height, maxFpr) - want)).toBeLessThan(1e-9);
      }
    }
  });

  it('matches the definition with continuous scores across many radix buckets', () => {
    const rand = rng(9);
    const { maps, masks } = randomSet(rand, 6, 30, 25, (defect) => (rand() - 0.5) * 1e3 * (defect ? 2 : 1));
    for (const maxFpr of [0.3, 0.01]) {
      const want = referenceAuPro(maps, masks, 30, 25, maxFpr);
      expect(Math.abs(auPro(maps, masks, 30, 25, maxFpr) - want)).toBeLessThan(1e-9);
    }
  });

  it('weighs every region the same, whatever its size', () => {
    // A 1-pixel region found at t = 0.9 and a 3-pixel region never found above the background.
    const masks = [new Uint8Array([0, 0, 0, 0, 1, 1, 1, 1, 0, 0])];
    const maps = [new Float32Array([0.5, 0.5, 0.5, 0.5, 0.9, 0.1, 0.1, 0.1, 0.5, 0.5])];
    // Curve: (0,0) -> (0,0.5) at 0.9 -> (1,0.5) at 0.5 -> (1,1) at 0.1. Up to 0.3: 0.3 * 0.5.
    expect(auPro(maps, masks, 5, 2)).toBeCloseTo(0.5, 12);
  });

  it('is NaN without regions or without background', () => {
    expect(auPro([new Float32Array(4)], [new Uint8Array(4)], 2, 2)).toBeNaN();
    expect(auPro([], [], 2, 2)).toBeNaN();
    expect(auPro([new Float32Array(4)], [new Uint8Array(4).fill(1)], 2, 2)).toBeNaN();
  });

  it('rejects bad input', () => {
    const map = new Float32Array(4);
    const mask = new Uint8Array([1, 0, 0, 0]);
    expect(() => auPro([map], [], 2, 2)).toThrow(InspectdError);
    expect(() => auPro([map], [mask], 4, 2)).toThrow(InspectdError);
    expect(() => auPro([map], [mask], 2, 2, 0)).toThrow(InspectdError);
    expect(() => auPro([map], [mask], 2, 2, 1.5)).toThrow(InspectdError);
    expect(() => auPro([new Float32Array([NaN, 0, 0, 0])], [mask], 2, 2)).toThrow(InspectdError);
  });
});
