import { describe, expect, it } from 'vitest';
import { greedyCoreset, projectionMatrix } from '../../src/scoring/nearestPatch/coreset.js';
import { gaussianSamples, rng } from '../helpers/random.js';

/** Squared distances from row `c` to every row of x [n, dim]: the brute-force distance source. */
const rowDistances =
  (x: Float32Array, n: number, dim: number) =>
  (c: number, out: Float32Array): void => {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (x[i * dim + j] - x[c * dim + j]) ** 2;
      out[i] = s;
    }
  };

/** Textbook farthest-point selection, written independently of the implementation. */
function naiveKCenter(x: Float32Array, n: number, dim: number, k: number, start: number): number[] {
  const chosen = [start];
  while (chosen.length < k) {
    let best = -1;
    let bestD = -1;
    for (let i = 0; i < n; i++) {
      if (chosen.includes(i)) continue;
      let d = Infinity;
      for (const c of chosen) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += (x[i * dim + j] - x[c * dim + j]) ** 2;
        d = Math.min(d, s);
      }
      if (d > bestD) [bestD, best] = [d, i];
    }
    chosen.push(best);
  }
  return chosen;
}

describe('greedy k-center coreset', () => {
  it('picks the same items as a textbook farthest-point selection', async () => {
    const n = 400;
    const dim = 6;
    const x = gaussianSamples(n * dim, rng(3));
    const { indices, radius } = await greedyCoreset(n, 25, 17, rowDistances(x, n, dim));
    expect(Array.from(indices)).toEqual(naiveKCenter(x, n, dim, 25, 17));
    // The covering radius never grows as items are added.
    for (let i = 1; i < radius.length; i++) expect(radius[i]).toBeLessThanOrEqual(radius[i - 1]);
  });

  it('covers every cluster before taking a second item from any', async () => {
    const clusters = 6;
    const per = 50;
    const dim = 4;
    const next = rng(5);
    // Six tight clusters far apart: centres ~100 apart, members within ~0.1 of theirs.
    const centres = gaussianSamples(clusters * dim, next).map((v) => 100 * v);
    const noise = gaussianSamples(clusters * per * dim, next);
    const x = noise.map((v, i) => centres[Math.floor(i / (per * dim)) * dim + (i % dim)] + 0.1 * v);
    const { indices } = await greedyCoreset(
      clusters * per,
      clusters,
      0,
      rowDistances(x, clusters * per, dim),
    );
    expect(new Set(Array.from(indices, (i) => Math.floor(i / per))).size).toBe(clusters);
  });

  it('never picks an item twice, even among exact duplicates, and stops at the set size', async () => {
    const x = new Float32Array(10 * 3).fill(1); // ten identical rows
    const { indices, radius } = await greedyCoreset(10, 50, 4, rowDistances(x, 10, 3));
    expect(indices.length).toBe(10);
    expect(new Set(indices).size).toBe(10);
    expect(radius[radius.length - 1]).toBe(0);
  });
});

describe('random projection', () => {
  it('keeps pairwise distances to within about 25% at 128 dimensions (Johnson-Lindenstrauss)', () => {
    const dim = 152;
    const out = 128;
    const r = projectionMatrix(dim, out, 7);
    const x = gaussianSamples(2 * dim * 20, rng(9));
    const project = (v: Float32Array): Float64Array => {
      const y = new Float64Array(out);
      for (let c = 0; c < dim; c++) for (let j = 0; j < out; j++) y[j] += v[c] * r[c * out + j];
      return y;
    };
    for (let pair = 0; pair < 20; pair++) {
      const a = x.subarray(pair * 2 * dim, pair * 2 * dim + dim);
      const b = x.subarray(pair * 2 * dim + dim, (pair + 1) * 2 * dim);
      const diff = a.map((v, i) => v - b[i]);
      const before = Math.hypot(...diff);
      const after = Math.hypot(...project(diff));
      expect(after / before).toBeGreaterThan(0.75);
      expect(after / before).toBeLessThan(1.25);
    }
    // Same seed, same matrix: a refit projects the same way.
    expect(projectionMatrix(dim, out, 7)).toEqual(r);
  });
});
