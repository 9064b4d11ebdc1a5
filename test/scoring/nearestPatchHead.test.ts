import { describe, expect, it } from 'vitest';
import { modelFromFragment } from '../../src/onnx/compose.js';
import { GraphBuilder } from '../../src/onnx/graphBuilder.js';
import { onnx } from '../../src/onnx/proto.js';
import { MAP_OUTPUT, SCORE_OUTPUT, mapToOutputs } from '../../src/scoring/mapHead.js';
import { bankInitializers, toFloat16Bits, type MemoryBank } from '../../src/scoring/nearestPatch/bank.js';
import {
  nearestBankItems,
  nearestPatchHead,
  replaceImageScore,
} from '../../src/scoring/nearestPatch/head.js';
import { sessionFor, ort } from '../helpers/onnx.js';
import { gaussianSamples, rng } from '../helpers/random.js';

const C = 8;
const H = 5;
const W = 6;
const P = H * W;
const N = 2;
const K = 4;

/** Brute force, float64: squared distance between a query row and a bank row. */
function sqDist(q: ArrayLike<number>, bank: Float32Array, m: number): number {
  let s = 0;
  for (let c = 0; c < C; c++) s += (q[c] - bank[m * C + c]) ** 2;
  return s;
}

/** The query patch at (image n, position p) of features [N,C,H,W]. */
function queryAt(x: Float32Array, n: number, p: number): number[] {
  return Array.from({ length: C }, (_, c) => x[(n * C + c) * P + p]);
}

/** Brute-force k nearest bank items of a row (indices, nearest first). */
function kNearest(q: ArrayLike<number>, bank: Float32Array, M: number, k: number): number[] {
  return Array.from({ length: M }, (_, m) => m)
    .sort((a, b) => sqDist(q, bank, a) - sqDist(q, bank, b))
    .slice(0, k);
}

function randomBank(M: number, seed: number, withNeighbours: boolean): MemoryBank {
  const data = gaussianSamples(M * C, rng(seed));
  const bank: MemoryBank = { size: M, dim: C, data };
  if (withNeighbours) {
    bank.k = K;
    bank.neighbours = new Int32Array(M * K);
    for (let m = 0; m < M; m++)
      bank.neighbours.set(kNearest(data.subarray(m * C, (m + 1) * C), data, M, K), m * K);
  }
  return bank;
}

/** The head alone: features [N,C,H,W] -> map [N,1,H,W] (+ the re-weighted score [N]). */
async function headSession(
  bank: MemoryBank,
  chunk: number,
  storage: 'float32' | 'float16' = 'float32',
): ReturnType<typeof sessionFor> {
  const b = new GraphBuilder(13);
  const head = nearestPatchHead(b, 'features', { channels: C, height: H, width: W }, bank, {
    chunk,
    storage,
  });
  b.opNamed('map', 'Identity', [head.map]);
  const outputs = [{ name: 'map', dims: ['N', 1, H, W] }];
  if (head.reweighted) {
    b.opNamed('reweighted', 'Identity', [head.reweighted]);
    outputs.push({ name: 'reweighted', dims: ['N'] });
  }
  return sessionFor(modelFromFragment(b, [{ name: 'features', dims: ['N', C, H, W] }], outputs));
}

const features = (seed: number): Float32Array =>
  gaussianSamples(N * C * P, rng(seed)).map((v, i) => v * (1 + (i % 3)));

describe('nearest-patch head (ONNX) against brute-force nearest neighbours in TypeScript', () => {
  it.each([
    ['one chunk', 40, 64],
    ['chunks of 16, the last one partial (a bank larger than one chunk)', 150, 16],
    ['one item per chunk', 7, 1],
  ])('%s: every position matches the nearest bank item distance', async (_label, M, chunk) => {
    const bank = randomBank(M, 11, false);
    const { session, cleanup } = await headSession(bank, chunk);
    try {
      const x = features(12);
      const out = await session.run({ features: new ort.Tensor('float32', x, [N, C, H, W]) });
      expect(out.map.dims).toEqual([N, 1, H, W]);
      const got = out.map.data as Float32Array;
      let worst = 0;
      for (let n = 0; n < N; n++)
        for (let p = 0; p < P; p++) {
          const q = queryAt(x, n, p);
          let best = Infinity;
          for (let m = 0; m < M; m++) best = Math.min(best, sqDist(q, bank.data, m));
          worst = Math.max(worst, Math.abs(got[n * P + p] - Math.sqrt(best)) / Math.sqrt(best));
        }
      expect(worst).toBeLessThan(1e-4);
    } finally {
      await cleanup();
    }
  });

  it('gives distance 0 (not NaN) for a patch that is in the bank', async () => {
    const bank = randomBank(30, 13, false);
    const { session, cleanup } = await headSession(bank, 8);
    try {
      const x = features(14);
      for (let c = 0; c < C; c++) x[c * P + 17] = bank.data[5 * C + c]; // image 0, position 17 = item 5
      const out = await session.run({ features: new ort.Tensor('float32', x, [N, C, H, W]) });
      const got = out.map.data as Float32Array;
      expect(got.some(Number.isNaN)).toBe(false);
      expect(got[17]).toBeLessThan(1e-3);
    } finally {
      await cleanup();
    }
  });

  it('re-weighted image score equals PatchCore computed by hand, over several chunks', async () => {
    const M = 90;
    const bank = randomBank(M, 15, true);
    const { session, cleanup } = await headSession(bank, 32);
    try {
      const x = features(16);
      const out = await session.run({ features: new ort.Tensor('float32', x, [N, C, H, W]) });
      const got = out.reweighted.data as Float32Array;
      for (let n = 0; n < N; n++) {
        // s*: the patch farthest from the bank; m*: its nearest item; weight from m*'s K neighbourhood.
        let sStar = -1;
        let worst = 0;
        for (let p = 0; p < P; p++) {
          const q = queryAt(x, n, p);
          const d = Math.sqrt(Math.min(...Array.from({ length: M }, (_, m) => sqDist(q, bank.data, m))));
          if (d > sStar) [sStar, worst] = [d, p];
        }
        const q = queryAt(x, n, worst);
        const mStar = kNearest(q, bank.data, M, 1)[0];
        const support = kNearest(bank.data.subarray(mStar * C, (mStar + 1) * C), bank.data, M, K);
        expect(support[0]).toBe(mStar);
        const d = support.map((m) => Math.sqrt(sqDist(q, bank.data, m)));
        const exp = d.map((v) => Math.exp(v - Math.max(...d)));
        const weight = 1 - exp[0] / exp.reduce((a, b) => a + b, 0);
        expect(weight).toBeGreaterThan(0);
        expect(weight).toBeLessThan(1);
        expect(got[n]).toBeCloseTo(weight * sStar, 4);
      }
    } finally {
      await cleanup();
    }
  });

  it('fit-time neighbour table from the graph equals brute force (itself first)', async () => {
    const M = 70;
    const bank = randomBank(M, 17, true);
    const b = new GraphBuilder(13);
    const idx = nearestBankItems(b, 'rows', bankInitializers(b, bank, 16, 'float32'), K);
    b.opNamed('nn', 'Cast', [idx], { to: onnx.TensorProto.DataType.FLOAT });
    const { session, cleanup } = await sessionFor(
      modelFromFragment(b, [{ name: 'rows', dims: ['R', C] }], [{ name: 'nn', dims: ['R', K] }]),
    );
    try {
      const out = await session.run({ rows: new ort.Tensor('float32', bank.data, [M, C]) });
      expect(Array.from(out.nn.data as Float32Array)).toEqual(Array.from(bank.neighbours!));
    } finally {
      await cleanup();
    }
  });

  it('float16 bank storage: distances within half-precision rounding of float32', async () => {
    const bank = randomBank(60, 19, false);
    const x = features(20);
    const run = async (storage: 'float32' | 'float16'): Promise<Float32Array> => {
      const { session, cleanup } = await headSession(bank, 16, storage);
      try {
        const out = await session.run({ features: new ort.Tensor('float32', x, [N, C, H, W]) });
        return out.map.data as Float32Array;
      } finally {
        await cleanup();
      }
    };
    const full = await run('float32');
    const half = await run('float16');
    let worst = 0;
    for (let i = 0; i < full.length; i++) worst = Math.max(worst, Math.abs(full[i] - half[i]) / full[i]);
    expect(worst).toBeGreaterThan(0); // the bank really was stored in half precision
    expect(worst).toBeLessThan(5e-3);
  });

  it('float16 conversion: exact values, rounding to nearest even, overflow, subnormals', () => {
    const bits = toFloat16Bits(
      Float32Array.from([
        1,
        -2,
        0.5,
        65504,
        70000,
        1e-8,
        2 ** -24,
        1 + 2 ** -11,
        1 + 3 * 2 ** -11,
        -Infinity,
      ]),
    );
    expect(Array.from(bits)).toEqual([
      0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00, 0x0000, 0x0001, 0x3c00, 0x3c02, 0xfc00,
    ]);
    expect(toFloat16Bits(Float32Array.from([NaN]))[0] & 0x7c00).toBe(0x7c00);
  });

  it('recipe tail: the re-weighted score replaces the max of the map as the image score', async () => {
    const bank = randomBank(40, 21, true);
    const b = new GraphBuilder(13);
    const head = nearestPatchHead(b, 'features', { channels: C, height: H, width: W }, bank, {
      chunk: 16,
      storage: 'float32',
    });
    mapToOutputs(b, head.map, 'image', 1);
    replaceImageScore(b, head.reweighted!);
    b.opNamed('reweighted', 'Identity', [head.reweighted!]);
    const S = 20;
    const { session, cleanup } = await sessionFor(
      modelFromFragment(
        b,
        [
          { name: 'features', dims: ['N', C, H, W] },
          { name: 'image', dims: ['N', 3, S, S] },
        ],
        [
          { name: SCORE_OUTPUT, dims: ['N'] },
          { name: MAP_OUTPUT, dims: ['N', 1, S, S] },
          { name: 'reweighted', dims: ['N'] },
        ],
      ),
    );
    try {
      const out = await session.run({
        features: new ort.Tensor('float32', features(22), [N, C, H, W]),
        image: new ort.Tensor('float32', new Float32Array(N * 3 * S * S), [N, 3, S, S]),
      });
      expect(Array.from(out[SCORE_OUTPUT].data as Float32Array)).toEqual(
        Array.from(out.reweighted.data as Float32Array),
      );
      const map = out[MAP_OUTPUT].data as Float32Array;
      expect(out[SCORE_OUTPUT].data[0]).not.toBeCloseTo(Math.max(...map.subarray(0, S * S)), 3);
    } finally {
      await cleanup();
    }
  });
});
