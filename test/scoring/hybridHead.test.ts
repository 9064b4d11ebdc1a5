import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { appendHead } from '../../src/onnx/compose.js';
import { GraphBuilder } from '../../src/onnx/graphBuilder.js';
import { readModel } from '../../src/onnx/modelFile.js';
import { MAP_OUTPUT, SCORE_OUTPUT, mapToOutputs } from '../../src/scoring/mapHead.js';
import { centerDistance, squaredErrorMap, weightedSum } from '../../src/scoring/reconstruction/terms.js';
import { runProcess } from '../helpers/cli.js';
import { goodImagesFolder, tempDir } from '../helpers/fixtures.js';
import { ort, sessionFor } from '../helpers/onnx.js';
import { PYTHON, ROOT } from '../helpers/paths.js';
import { gaussianSamples, rng } from '../helpers/random.js';

const S = 64;
const N = 3;

describe('hybrid (S004) scoring head on a model from scripts/train_hybrid.py', () => {
  let modelFile: string;

  beforeAll(async () => {
    const images = await goodImagesFolder(6);
    modelFile = path.join(tempDir('hybrid-head'), 'hybrid.onnx');
    const args = ['--images', images, '--out', modelFile, '--size', String(S), '--iterations', '2'];
    const r = await runProcess(PYTHON, [
      path.join(ROOT, 'scripts', 'train_hybrid.py'),
      ...args,
      ...['--target', 'pixels'],
      '--batch-size',
      '2',
    ]);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('map = lambda2 * per-pixel squared error + lambda1 * ||Z - C||, score = its max (checked in TypeScript)', async () => {
    const model = readModel(modelFile);
    const zDims = [32, S / 16, S / 16];
    const zSize = zDims[0] * zDims[1] * zDims[2];
    const center = gaussianSamples(zSize, rng(5));
    const [lambda1, lambda2] = [0.37, 2.5];
    const b = new GraphBuilder(13);
    const map = weightedSum(b, [
      { map: squaredErrorMap(b, 'input', 'recon', 3), weight: lambda2 },
      { map: centerDistance(b, 'z', center, zDims), weight: lambda1 },
    ]);
    mapToOutputs(b, map, 'input', 0); // no blur: the maths is checked pixel by pixel
    const composed = appendHead(
      model,
      b,
      [
        { name: SCORE_OUTPUT, dims: ['N'] },
        { name: MAP_OUTPUT, dims: ['N', 1, S, S] },
        { name: 'z', dims: ['N', ...zDims] },
        { name: 'recon', dims: ['N', 3, S, S] },
      ],
      {},
    );
    const { session, cleanup } = await sessionFor(composed);
    try {
      const x = gaussianSamples(N * 3 * S * S, rng(6));
      const out = await session.run({ input: new ort.Tensor('float32', x, [N, 3, S, S]) });
      const z = out.z.data as Float32Array;
      const recon = out.recon.data as Float32Array;
      const got = out[MAP_OUTPUT].data as Float32Array;
      const scores = out[SCORE_OUTPUT].data as Float32Array;
      const plane = S * S;
      for (let n = 0; n < N; n++) {
        let d2 = 0;
        for (let i = 0; i < zSize; i++) d2 += (z[n * zSize + i] - center[i]) ** 2;
        const l1 = Math.sqrt(d2);
        expect(l1).toBeGreaterThan(1); // C is random: the feature term is far from zero
        let max = -Infinity;
        for (let p = 0; p < plane; p++) {
          let e = 0;
          for (let c = 0; c < 3; c++) {
            const k = (n * 3 + c) * plane + p;
            e += (recon[k] - x[k]) ** 2;
          }
          const want = lambda2 * (e / 3) + lambda1 * l1;
          expect(Math.abs(got[n * plane + p] - want)).toBeLessThan(1e-4 * Math.max(1, want));
          max = Math.max(max, want);
        }
        expect(scores[n]).toBeCloseTo(max, 3);
      }
    } finally {
      await cleanup();
    }
  });
});
