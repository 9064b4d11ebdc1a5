import { describe, expect, it } from 'vitest';
import { defaultOpset, modelFromFragment } from '../../src/onnx/compose.js';
import { GraphBuilder } from '../../src/onnx/graphBuilder.js';
import { encodeModel, readModel } from '../../src/onnx/modelFile.js';
import { upgradeOpset } from '../../src/onnx/opset.js';
import { ort } from '../helpers/onnx.js';
import { SHARED_BACKBONE } from '../helpers/paths.js';

async function run(model: Uint8Array, feeds: Record<string, ort.Tensor>) {
  const s = await ort.InferenceSession.create(model);
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

describe('raising a model to opset 18', () => {
  it('rewrites the operators whose form changed (Reduce axes, Split) and computes the same', async () => {
    const b = new GraphBuilder(13);
    const mean = b.op('ReduceMean', ['x'], { axes: { ints: [2, 3] }, keepdims: 1 });
    const max = b.op('ReduceMax', [b.op('Sub', ['x', mean])], { axes: { ints: [1] }, keepdims: 0 });
    b.nodes.push({
      opType: 'Split',
      name: 'split',
      input: ['x'],
      output: ['a', 'b'],
      attribute: [{ name: 'axis', type: 2, i: 1 }],
    });
    b.opNamed('y', 'Add', [
      max,
      b.op('ReduceMean', [b.op('Mul', ['a', 'b'])], { axes: { ints: [1] }, keepdims: 0 }),
    ]);
    const model = () =>
      modelFromFragment(b, [{ name: 'x', dims: [2, 4, 3, 5] }], [{ name: 'y', dims: [2, 3, 5] }]);
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 120 }, (_, i) => Math.sin(i * 1.7)),
      [2, 4, 3, 5],
    );
    const before = await run(encodeModel(model(), 'm13'), { x });
    const up = upgradeOpset(model(), 18, 'm13');
    expect(defaultOpset(up)).toBe(18);
    const after = await run(encodeModel(up, 'm18'), { x });
    expect(Array.from(after.y.data as Float32Array)).toEqual(Array.from(before.y.data as Float32Array));
  });

  it('leaves the shared MobileNetV2 backbone computing the same features', async () => {
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.cos(i / 50)),
      [1, 3, 64, 64],
    );
    const m = readModel(SHARED_BACKBONE);
    const before = await run(encodeModel(m, 'bb'), { input: x });
    const after = await run(encodeModel(upgradeOpset(readModel(SHARED_BACKBONE), 18, 'bb'), 'bb18'), {
      input: x,
    });
    for (const k of Object.keys(before))
      expect(Array.from(after[k].data as Float32Array), k).toEqual(
        Array.from(before[k].data as Float32Array),
      );
  });

  it('refuses a model older than opset 13, saying how to export it again', () => {
    const b = new GraphBuilder(11);
    b.opNamed('y', 'Identity', ['x']);
    const m = modelFromFragment(b, [{ name: 'x', dims: [1] }], [{ name: 'y', dims: [1] }]);
    expect(() => upgradeOpset(m, 18, 'old.onnx')).toThrow(/old\.onnx uses opset 11.*opset >= 13/);
  });
});
