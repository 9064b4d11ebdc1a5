import path from 'node:path';
import * as ort from 'onnxruntime-node';
import pino from 'pino';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { InputSpec } from '../../src/core/inputSpec.js';
import { defaultOpset, modelFromFragment } from '../../src/onnx/compose.js';
import { GraphBuilder } from '../../src/onnx/graphBuilder.js';
import { encodeModel, readModel } from '../../src/onnx/modelFile.js';
import { withPixelFront } from '../../src/preprocess/front.js';
import { toNormalizedChw } from '../../src/preprocess/image.js';
import { readManifest } from '../../src/recipe/manifest.js';
import { RecipeModel } from '../../src/recipe/recipeModel.js';
import { SimSource } from '../../src/sources/sim/simSource.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DEMO = path.join(ROOT, 'models', 'demo');
const log = pino({ level: 'silent' });

/** A textured RGB test picture: smooth gradients plus noise, so resampling differences show. */
function picture(w: number, h: number, channels: 1 | 3 = 3): Buffer {
  const b = Buffer.alloc(w * h * channels);
  let s = 7;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < channels; c++) {
        s = (s * 1103515245 + 12345) & 0x7fffffff;
        const v = 128 + 60 * Math.sin(x / 9 + c) + 50 * Math.cos(y / 13) + (s % 30) - 15;
        b[(y * w + x) * channels + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
  return b;
}

/** The front alone: an identity "model" behind it, so the view output shows what the front made. */
async function frontOnly(h: number, w: number, channels: 1 | 3 = 3) {
  const spec: InputSpec = {
    name: 'input',
    width: w,
    height: h,
    channels,
    mean: [0, 0, 0].slice(0, channels),
    std: [1, 1, 1].slice(0, channels),
    resize: 'stretch-linear-front',
  };
  const b = new GraphBuilder(13);
  b.opNamed('y', 'Identity', ['input']);
  const model = modelFromFragment(
    b,
    [{ name: 'input', dims: ['N', channels, h, w] }],
    [{ name: 'y', dims: ['N', channels, h, w] }],
  );
  const session = await ort.InferenceSession.create(encodeModel(withPixelFront(model, spec, 'id'), 'id'));
  return async (pixels: Buffer, H: number, W: number, C: 1 | 3) => {
    const out = await session.run({ pixels: new ort.Tensor('uint8', pixels, [1, H, W, C]) });
    return { view: out.view.data as Uint8Array, y: out.y.data as Float32Array };
  };
}

const viaSharp = (pixels: Buffer, W: number, H: number, w: number, h: number) =>
  sharp(pixels, { raw: { width: W, height: H, channels: 3 } })
    .resize(w, h, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();

function differences(a: Uint8Array, b: Uint8Array) {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.length };
}

describe('pixel front: camera bytes in, the recipe input out, in one graph', () => {
  it('matches sharp (what fit reads images with) exactly at the recipe size and at half of the frame size', async () => {
    const run = await frontOnly(128, 128);
    for (const [W, H] of [
      [128, 128],
      [256, 256],
      [256, 128],
    ]) {
      const px = picture(W, H);
      const { view, y } = await run(px, H, W, 3);
      expect(differences(view, await viaSharp(px, W, H, 128, 128)), `${W}x${H}`).toEqual({ max: 0, mean: 0 });
      // The model input is the view, channels first, scaled to [0, 1] (mean 0, std 1 here).
      expect(y[0] * 255).toBeCloseTo(view[0], 3);
      expect(y[128 * 128] * 255).toBeCloseTo(view[1], 3);
    }
  });

  it('stays within 3 levels of sharp at other factors, growing or shrinking, any aspect', async () => {
    for (const [W, H, w, h, maxMean] of [
      [300, 280, 224, 224, 0.3],
      [256, 256, 224, 224, 0.1],
      [100, 90, 128, 128, 0.05],
      [64, 64, 128, 128, 0.2],
      [289, 103, 224, 224, 0.1],
      [1024, 768, 256, 256, 0.5],
    ]) {
      const px = picture(W, H);
      const { view } = await (await frontOnly(h, w))(px, H, W, 3);
      const d = differences(view, await viaSharp(px, W, H, w, h));
      expect(d.max, `${W}x${H}->${w}x${h}`).toBeLessThanOrEqual(3);
      expect(d.mean, `${W}x${H}->${w}x${h}`).toBeLessThanOrEqual(maxMean);
    }
  });

  it('broadcasts a mono frame to the three channels of an RGB model, as sharp converts gray to sRGB', async () => {
    const run = await frontOnly(64, 64);
    const gray = picture(128, 128, 1);
    const { y } = await run(gray, 128, 128, 1);
    const rgb = await sharp(gray, { raw: { width: 128, height: 128, channels: 1 } })
      .resize(64, 64, { fit: 'fill', kernel: 'linear' })
      .toColourspace('srgb')
      .raw()
      .toBuffer();
    for (const i of [0, 777, 64 * 64 - 1])
      for (let c = 0; c < 3; c++) expect(Math.round(y[c * 64 * 64 + i] * 255)).toBe(rgb[i * 3 + c]);
  });

  it('the demo recipe scores camera frames in the graph as it scored them after sharp (old path), to 1e-5', async () => {
    const manifest = await readManifest(DEMO);
    const spec = manifest.input;
    // The recipe as fitted: float input, normalized in JavaScript (its opset unchanged).
    const file = path.join(DEMO, manifest.model.file);
    expect(defaultOpset(readModel(file))).toBeLessThan(18);
    const plain = await ort.InferenceSession.create(file);
    const model = await RecipeModel.load(DEMO, { providers: ['cpu'], threads: 1 }, log);
    try {
      const frames = new SimSource({
        id: 'c',
        options: { width: 256, height: 256, fps: 0, defectRate: 0.5, seed: 11, count: 6 },
        log,
      }).frames();
      for await (const f of frames) {
        const small = await viaSharp(f.data, 256, 256, spec.width, spec.height);
        const x = new Float32Array(3 * spec.width * spec.height);
        toNormalizedChw(
          {
            data: small,
            width: spec.width,
            height: spec.height,
            channels: 3,
            original: { width: 256, height: 256, channels: 3 },
          },
          spec,
          x,
          0,
        );
        const old = await plain.run({
          [spec.name]: new ort.Tensor('float32', x, [1, 3, spec.height, spec.width]),
        });
        const now = await model.score({ data: f.data, n: 1, height: 256, width: 256, channels: 3 });
        const before = (old[manifest.outputs.score].data as Float32Array)[0];
        expect(Math.abs(now.scores[0] - before) / Math.abs(before), `frame ${f.seq}`).toBeLessThan(1e-5);
        const map = old[manifest.outputs.map].data as Float32Array;
        let worst = 0;
        for (let i = 0; i < map.length; i++) worst = Math.max(worst, Math.abs(map[i] - now.maps[i]));
        expect(worst).toBeLessThan(1e-4 * Math.max(...map.map(Math.abs)));
      }
    } finally {
      await model.close();
      await plain.release();
    }
  });
});
