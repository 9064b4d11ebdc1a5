import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { InputSpec } from '../../src/core/inputSpec.js';
import { tileLayout } from '../../src/core/tiling.js';
import { modelFromFragment } from '../../src/onnx/compose.js';
import { GraphBuilder } from '../../src/onnx/graphBuilder.js';
import { encodeModel } from '../../src/onnx/modelFile.js';
import { withPixelFront } from '../../src/preprocess/front.js';

describe('the tiler between the pixel front and the model', () => {
  it("cuts every frame's canvas into its tiles, one batch of frames x tiles, frame-major and row by row", async () => {
    // A 10x6 canvas in 4x4 tiles with overlap 1: columns at 0, 3, 6 and rows at 0, 2 (6 tiles).
    const tiling = tileLayout({ width: 10, height: 6 }, { width: 4, height: 4 }, 1);
    expect([tiling.xs, tiling.ys]).toEqual([
      [0, 3, 6],
      [0, 2],
    ]);
    const spec: InputSpec = {
      name: 'input',
      width: 10,
      height: 6,
      channels: 3,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: 'stretch-linear-front',
      tiling,
    };
    // An identity "model" of tile size: its output is what the tiler fed it.
    const b = new GraphBuilder(13);
    b.opNamed('y', 'Identity', ['input']);
    const model = modelFromFragment(
      b,
      [{ name: 'input', dims: ['N', 3, 4, 4] }],
      [{ name: 'y', dims: ['N', 3, 4, 4] }],
    );
    const session = await ort.InferenceSession.create(
      encodeModel(withPixelFront(model, spec, 'tiles'), 'tiles'),
    );
    // Two frames at the canvas size (the front passes them unchanged); every pixel value is distinct per
    // frame, position and channel, modulo 256.
    const N = 2;
    const px = Uint8Array.from({ length: N * 6 * 10 * 3 }, (_, i) => (i * 7) % 256);
    try {
      const out = await session.run({ pixels: new ort.Tensor('uint8', px, [N, 6, 10, 3]) });
      expect(out.y.dims).toEqual([N * 6, 3, 4, 4]);
      expect([...(out.view.data as Uint8Array)]).toEqual([...px]);
      const y = out.y.data as Float32Array;
      const wrong: string[] = [];
      for (let n = 0; n < N; n++)
        for (let k = 0; k < 6; k++) {
          const [x0, y0] = [tiling.xs[k % 3], tiling.ys[Math.floor(k / 3)]];
          for (let c = 0; c < 3; c++)
            for (let ty = 0; ty < 4; ty++)
              for (let tx = 0; tx < 4; tx++) {
                const want = px[((n * 6 + y0 + ty) * 10 + x0 + tx) * 3 + c];
                const got = Math.round(y[(((n * 6 + k) * 3 + c) * 4 + ty) * 4 + tx] * 255);
                if (got !== want) wrong.push(`frame ${n} tile ${k} c${c} (${tx},${ty}): ${got} != ${want}`);
              }
        }
      expect(wrong).toEqual([]);
    } finally {
      await session.release();
    }
  });
});
