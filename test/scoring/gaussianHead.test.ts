import { describe, expect, it } from 'vitest';
import { modelFromFragment } from '../../src/onnx/compose.js';
import { GraphBuilder } from '../../src/onnx/graphBuilder.js';
import { mahalanobisMap, momentNodes } from '../../src/scoring/gaussian/head.js';
import { invertSpd, mahalanobis } from '../../src/scoring/gaussian/linalg.js';
import { MAP_OUTPUT, SCORE_OUTPUT, gaussianKernel1d, mapToOutputs } from '../../src/scoring/mapHead.js';
import { sessionFor, ort } from '../helpers/onnx.js';
import { gaussianSamples, randomSpd, rng } from '../helpers/random.js';

const C = 12;
const H = 5;
const W = 7;
const P = H * W;
const N = 3;

function randomGaussianParams(seed: number): { mean: Float32Array; precision: Float32Array } {
  const next = rng(seed);
  const mean = gaussianSamples(P * C, next);
  const precision = new Float32Array(P * C * C);
  const work = new Float64Array(C * C);
  for (let p = 0; p < P; p++) {
    // A random covariance per position, inverted the way fit inverts it.
    expect(invertSpd(randomSpd(C, next), C, work, precision, p * C * C)).toBe(true);
  }
  return { mean, precision };
}

/** The Mahalanobis head alone, as a model from features [N,C,H,W] to map [N,1,H,W]. */
function mahalanobisSession(mean: Float32Array, precision: Float32Array): ReturnType<typeof sessionFor> {
  const b = new GraphBuilder(13);
  b.opNamed('map', 'Identity', [
    mahalanobisMap(b, 'features', { channels: C, height: H, width: W, mean, precision }),
  ]);
  return sessionFor(
    modelFromFragment(
      b,
      [{ name: 'features', dims: ['N', C, H, W] }],
      [{ name: 'map', dims: ['N', 1, H, W] }],
    ),
  );
}

describe('gaussian scoring head (ONNX) against plain Mahalanobis in TypeScript', () => {
  it('matches per position to 1e-4 relative on random data, for a batch of images', async () => {
    const { mean, precision } = randomGaussianParams(1);
    const { session, cleanup } = await mahalanobisSession(mean, precision);
    try {
      // Features near the means and far from them, so distances span small and large values.
      const x = gaussianSamples(N * C * P, rng(2)).map((v, i) => v * (1 + (i % 5)));
      const out = await session.run({ features: new ort.Tensor('float32', x, [N, C, H, W]) });
      const got = out.map.data as Float32Array;
      expect(out.map.dims).toEqual([N, 1, H, W]);
      const y = new Float64Array(C);
      let worst = 0;
      for (let n = 0; n < N; n++) {
        for (let p = 0; p < P; p++) {
          for (let c = 0; c < C; c++) y[c] = x[(n * C + c) * P + p];
          const want = mahalanobis(y, mean, precision, C, p * C, p * C * C);
          worst = Math.max(worst, Math.abs(got[n * P + p] - want) / want);
        }
      }
      expect(worst).toBeLessThan(1e-4);
    } finally {
      await cleanup();
    }
  });

  it('gives distance 0 at the mean (no NaN from rounding below zero)', async () => {
    const { mean, precision } = randomGaussianParams(3);
    const { session, cleanup } = await mahalanobisSession(mean, precision);
    try {
      const x = new Float32Array(C * P);
      for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) x[c * P + p] = mean[p * C + c];
      const out = await session.run({ features: new ort.Tensor('float32', x, [1, C, H, W]) });
      for (const v of out.map.data as Float32Array) {
        expect(Number.isNaN(v)).toBe(false);
        expect(v).toBeLessThan(1e-2);
      }
    } finally {
      await cleanup();
    }
  });

  it('map tail: upsampled to the input size, blurred, image score = max of the map', async () => {
    const b = new GraphBuilder(13);
    mapToOutputs(b, 'coarse', 'image', 4);
    const S = 32;
    const { session, cleanup } = await sessionFor(
      modelFromFragment(
        b,
        [
          { name: 'coarse', dims: ['N', 1, 8, 8] },
          { name: 'image', dims: ['N', 3, S, S] },
        ],
        [
          { name: SCORE_OUTPUT, dims: ['N'] },
          { name: MAP_OUTPUT, dims: ['N', 1, S, S] },
        ],
      ),
    );
    try {
      const coarse = new Float32Array(2 * 64);
      coarse[64 + 3 * 8 + 4] = 10; // one hot spot in the second image
      const out = await session.run({
        coarse: new ort.Tensor('float32', coarse, [2, 1, 8, 8]),
        image: new ort.Tensor('float32', new Float32Array(2 * 3 * S * S), [2, 3, S, S]),
      });
      const map = out[MAP_OUTPUT].data as Float32Array;
      const score = out[SCORE_OUTPUT].data as Float32Array;
      expect(out[MAP_OUTPUT].dims).toEqual([2, 1, S, S]);
      expect(out[SCORE_OUTPUT].dims).toEqual([2]);
      expect(score[0]).toBe(0);
      const second = map.subarray(S * S);
      expect(score[1]).toBeCloseTo(Math.max(...second), 6);
      // The blur spreads the spot: the peak drops below the raw 10 but the map is nonzero far around it.
      expect(score[1]).toBeGreaterThan(0);
      expect(score[1]).toBeLessThan(10);
      const peak = second.indexOf(score[1]);
      expect(Math.abs((peak % S) - 18)).toBeLessThanOrEqual(2); // x: coarse 4 of 8 -> ~18 of 32
      expect(Math.abs(Math.floor(peak / S) - 14)).toBeLessThanOrEqual(2); // y: coarse 3 of 8 -> ~14 of 32
    } finally {
      await cleanup();
    }
  });

  it('blur kernel: sigma 4 has 33 taps summing to 1, symmetric', () => {
    const k = gaussianKernel1d(4);
    expect(k.length).toBe(33);
    expect(k.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 6);
    expect(k[0]).toBeCloseTo(k[32], 9);
    expect(k[16]).toBe(Math.max(...k));
  });

  it('moments graph: sums of (y - shift) and their outer products per position', async () => {
    const b = new GraphBuilder(13);
    const { sum, outer } = momentNodes(b, 'features', 'shift', { channels: C, height: H, width: W });
    b.opNamed('sum', 'Identity', [sum]);
    b.opNamed('outer', 'Identity', [outer]);
    const { session, cleanup } = await sessionFor(
      modelFromFragment(
        b,
        [
          { name: 'features', dims: ['N', C, H, W] },
          { name: 'shift', dims: [P, 1, C] },
        ],
        [
          { name: 'sum', dims: [P, C] },
          { name: 'outer', dims: [P, C, C] },
        ],
      ),
    );
    try {
      const next = rng(5);
      const x = gaussianSamples(N * C * P, next);
      const shift = gaussianSamples(P * C, next);
      const out = await session.run({
        features: new ort.Tensor('float32', x, [N, C, H, W]),
        shift: new ort.Tensor('float32', shift, [P, 1, C]),
      });
      const s = out.sum.data as Float32Array;
      const o = out.outer.data as Float32Array;
      for (const p of [0, 17, P - 1]) {
        for (const [i, j] of [
          [0, 0],
          [3, 7],
          [C - 1, 2],
        ]) {
          let ws = 0;
          let wo = 0;
          for (let n = 0; n < N; n++) {
            const di = x[(n * C + i) * P + p] - shift[p * C + i];
            const dj = x[(n * C + j) * P + p] - shift[p * C + j];
            if (j === 0) ws += di;
            wo += di * dj;
          }
          if (j === 0) expect(s[p * C + i]).toBeCloseTo(ws, 4);
          expect(o[(p * C + i) * C + j]).toBeCloseTo(wo, 4);
        }
      }
    } finally {
      await cleanup();
    }
  });
});
