import { describe, expect, it } from 'vitest';
import { choleskyInPlace, invertSpd } from '../../src/scoring/gaussian/linalg.js';
import { MomentAccumulator } from '../../src/scoring/gaussian/moments.js';
import { gaussianSamples, randomSpd, rng } from '../helpers/random.js';

describe('SPD inverse through Cholesky', () => {
  it.each([1, 2, 5, 37, 152])('A * inv(A) = I for a random SPD matrix of size %i', (n) => {
    const a = randomSpd(n, rng(n));
    const copy = Float64Array.from(a);
    const inv = new Float32Array(n * n);
    expect(invertSpd(copy, n, new Float64Array(n * n), inv)).toBe(true);
    let worst = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k] * inv[k * n + j];
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
    expect(worst).toBeLessThan(1e-4);
  });

  it('refuses a matrix that is not positive definite', () => {
    const a = Float64Array.from([1, 2, 2, 1]); // eigenvalues 3 and -1
    expect(choleskyInPlace(a, 2)).toBe(false);
    expect(invertSpd(Float64Array.from([0, 0, 0, 0]), 2, new Float64Array(4), new Float32Array(4))).toBe(
      false,
    );
  });
});

describe('streaming moments', () => {
  it('batch by batch equals the two-pass mean and covariance, even far from zero', () => {
    const grid = { channels: 4, height: 2, width: 3 };
    const { channels: C } = grid;
    const P = grid.height * grid.width;
    const next = rng(11);
    const N = 50;
    // A large common offset: the naive sum-of-squares formula loses digits here; the shifted one must not.
    const samples = Array.from({ length: N }, () => gaussianSamples(P * C, next).map((v) => 1000 + v));
    const acc = new MomentAccumulator(grid);
    for (let i = 0; i < P * C; i++) acc.shift[i] = samples[0][i];
    for (let start = 0; start < N; start += 16) {
      const batch = samples.slice(start, start + 16);
      const sum = new Float32Array(P * C);
      const outer = new Float32Array(P * C * C);
      for (const s of batch)
        for (let p = 0; p < P; p++)
          for (let i = 0; i < C; i++) {
            const di = s[p * C + i] - acc.shift[p * C + i];
            sum[p * C + i] += di;
            for (let j = 0; j < C; j++)
              outer[(p * C + i) * C + j] += di * (s[p * C + j] - acc.shift[p * C + j]);
          }
      acc.add(sum, outer, batch.length);
    }
    const eps = 0.01;
    const { mean, precision, failedPositions } = acc.finalize(eps);
    expect(failedPositions).toEqual([]);
    for (let p = 0; p < P; p++) {
      const mu = Array.from({ length: C }, (_, i) => samples.reduce((a, s) => a + s[p * C + i], 0) / N);
      for (let i = 0; i < C; i++) expect(mean[p * C + i]).toBeCloseTo(mu[i], 3);
      // precision * (cov + eps I) = I, with cov from the plain two-pass formula
      const cov = (i: number, j: number): number =>
        samples.reduce((a, s) => a + (s[p * C + i] - mu[i]) * (s[p * C + j] - mu[j]), 0) / (N - 1) +
        (i === j ? eps : 0);
      for (let i = 0; i < C; i++)
        for (let j = 0; j < C; j++) {
          let v = 0;
          for (let k = 0; k < C; k++) v += precision[(p * C + i) * C + k] * cov(k, j);
          expect(v).toBeCloseTo(i === j ? 1 : 0, 3);
        }
    }
    expect(acc.count).toBe(N);
  });

  it('needs at least two images', () => {
    expect(() => new MomentAccumulator({ channels: 2, height: 1, width: 1 }).finalize(0.01)).toThrow(
      /at least 2 images/,
    );
  });
});
