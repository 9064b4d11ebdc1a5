import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { appendHead } from '../../src/onnx/compose.js';
import { GraphBuilder } from '../../src/onnx/graphBuilder.js';
import { readModel } from '../../src/onnx/modelFile.js';
import { reencode } from '../../src/scoring/reconstruction/reencode.js';
import { runProcess } from '../helpers/cli.js';
import { goodImagesFolder, tempDir } from '../helpers/fixtures.js';
import { ort, sessionFor } from '../helpers/onnx.js';
import { PYTHON, ROOT, SHARED_MODELS } from '../helpers/paths.js';
import { gaussianSamples, rng } from '../helpers/random.js';

const S = 64;
const N = 2;
const LEVELS = ['e1', 'e2', 'e3', 'e4'];
const SHARED_WEIGHTS = path.join(SHARED_MODELS, 'mobilenet_v2_imagenet.pth');

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  expect(m).toBeGreaterThan(0);
  return d / m;
}

/** A 2-iteration train_multilevel.py model on 6 good images at `size`. */
async function trainTiny(dir: string, size: number, extra: string[] = []): Promise<string> {
  const images = await goodImagesFolder(6);
  const modelFile = path.join(tempDir(dir), 'multilevel.onnx');
  const r = await runProcess(PYTHON, [
    path.join(ROOT, 'scripts', 'train_multilevel.py'),
    ...['--images', images, '--out', modelFile, '--size', String(size), '--iterations', '2'],
    ...['--batch-size', '2', ...extra],
  ]);
  expect(r.code, r.stderr).toBe(0);
  return modelFile;
}

describe('multi-level (S000) re-encoding of the reconstruction inside the graph', () => {
  let modelFile: string;

  beforeAll(async () => {
    modelFile = await trainTiny('multilevel-head', S);
  }, 120_000);

  it('E_i(recon) from the copied encoder equals the model run again on its own reconstruction', async () => {
    const model = readModel(modelFile);
    const b = new GraphBuilder(13);
    const again = reencode(b, model, 'input', 'recon', LEVELS);
    // The copy shares the weights: no initializer was added.
    expect(b.initializers).toHaveLength(0);
    again.forEach((name, i) => b.opNamed(`r${i + 1}`, 'Identity', [name]));
    const outputs = [
      { name: 'recon', dims: ['N', 3, S, S] },
      ...LEVELS.map((_, i) => ({ name: `r${i + 1}`, dims: ['N', 'C', 'H', 'W'] })),
    ];
    const { session, cleanup } = await sessionFor(appendHead(model, b, outputs, {}));
    const plain = await ort.InferenceSession.create(modelFile);
    try {
      const x = gaussianSamples(N * 3 * S * S, rng(8));
      const out = await session.run({ input: new ort.Tensor('float32', x, [N, 3, S, S]) });
      const second = await plain.run({ input: out.recon });
      const first = await plain.run({ input: new ort.Tensor('float32', x, [N, 3, S, S]) });
      for (const [i, name] of LEVELS.entries()) {
        const r = out[`r${i + 1}`];
        expect(r.dims).toEqual(second[name].dims);
        expect(maxRelDiff(r.data as Float32Array, second[name].data as Float32Array), name).toBeLessThan(
          1e-5,
        );
        // Not trivially the input's own features.
        expect(maxRelDiff(r.data as Float32Array, first[name].data as Float32Array), name).toBeGreaterThan(
          1e-3,
        );
      }
    } finally {
      await cleanup();
      await plain.release();
    }
  });

  it('fails naming the tensor when the model has no such encoder output', () => {
    const model = readModel(modelFile);
    expect(() => reencode(new GraphBuilder(13), model, 'input', 'recon', ['e9'])).toThrow(
      /computes no tensor "e9"/,
    );
  });
});

describe('multi-level (S000) on features: re-encoding starts at F inside the model', () => {
  const FS = 128;
  const F_LEVELS = ['e1', 'e2', 'e3'];
  let modelFile: string;

  beforeAll(async () => {
    modelFile = await trainTiny('multilevel-features-head', FS, [
      ...['--target', 'features', '--backbone-weights', SHARED_WEIGHTS],
    ]);
  }, 120_000);

  it('copies only the encoder after F: F encoded again gives e1..e3 as they are, F^ encoded differs', async () => {
    const model = readModel(modelFile);
    const b = new GraphBuilder(13);
    const same = reencode(b, model, 'target', 'target', F_LEVELS);
    const again = reencode(b, model, 'target', 'recon', F_LEVELS);
    // The backbone that computes F from the image stays out of the copies.
    expect(b.nodes.some((n) => (n.input ?? []).includes('input'))).toBe(false);
    expect(b.nodes.length).toBeLessThan((model.graph?.node ?? []).length);
    const named = [...same, ...again, ...F_LEVELS];
    named.forEach((name, i) => b.opNamed(`r${i}`, 'Identity', [name]));
    const outputs = named.map((_, i) => ({ name: `r${i}`, dims: ['N', 'C', 'H', 'W'] }));
    const { session, cleanup } = await sessionFor(appendHead(model, b, outputs, {}));
    try {
      const x = new ort.Tensor('float32', gaussianSamples(N * 3 * FS * FS, rng(9)), [N, 3, FS, FS]);
      const out = await session.run({ input: x });
      const k = F_LEVELS.length;
      for (const [i, name] of F_LEVELS.entries()) {
        const own = out[`r${i + 2 * k}`].data as Float32Array;
        expect(maxRelDiff(out[`r${i}`].data as Float32Array, own), name).toBeLessThan(1e-5);
        expect(maxRelDiff(out[`r${i + k}`].data as Float32Array, own), name).toBeGreaterThan(1e-3);
      }
    } finally {
      await cleanup();
    }
  });
});
