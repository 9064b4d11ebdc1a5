import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendHead, outputNames, requireOutputs } from '../../src/onnx/compose.js';
import { GraphBuilder } from '../../src/onnx/graphBuilder.js';
import { readModel, writeModel } from '../../src/onnx/modelFile.js';
import { fuseLevels, randomChannelSubset } from '../../src/scoring/fusion.js';
import { tempDir } from '../helpers/fixtures.js';
import { ort } from '../helpers/onnx.js';
import { SHARED_BACKBONE } from '../helpers/paths.js';

describe('composing a head with a backbone', () => {
  it('keeps only what the new outputs need, and runs', async () => {
    const bb = readModel(SHARED_BACKBONE);
    const before = bb.graph!.node!.length;
    const b = new GraphBuilder(13);
    b.opNamed('fused', 'Identity', [fuseLevels(b, ['s4_24ch', 's8_32ch'], [0, 5, 30, 55])]);
    const m = appendHead(bb, b, [{ name: 'fused', dims: ['N', 4, 'H', 'W'] }], { 'inspectd.kind': 'test' });
    expect(outputNames(m)).toEqual(['fused']);
    // The stride-16 and -32 stages are no longer computed.
    expect(m.graph!.node!.length).toBeLessThan(before - 40);
    const file = path.join(tempDir('compose'), 'm.onnx');
    writeModel(m, file);
    const s = await ort.InferenceSession.create(file);
    const out = await s.run({
      input: new ort.Tensor('float32', new Float32Array(2 * 3 * 64 * 64), [2, 3, 64, 64]),
    });
    expect(out.fused.dims).toEqual([2, 4, 16, 16]);
    await s.release();
  });

  it('writes large weights to a side file that onnxruntime loads', async () => {
    const b = new GraphBuilder(13);
    const big = new Float32Array(1 << 20).map((_, i) => i % 7);
    b.opNamed('y', 'Add', ['x', b.float32('w', [1 << 20], big)]);
    const { modelFromFragment } = await import('../../src/onnx/compose.js');
    const m = modelFromFragment(b, [{ name: 'x', dims: [1 << 20] }], [{ name: 'y', dims: [1 << 20] }]);
    const file = path.join(tempDir('ext'), 'model.onnx');
    expect(writeModel(m, file, { externalAboveBytes: 1000, externalTensorMinBytes: 1000 })).toEqual([
      'model.onnx',
      'model.onnx.data',
    ]);
    expect(statSync(file).size).toBeLessThan(10_000);
    expect(existsSync(`${file}.data`)).toBe(true);
    const s = await ort.InferenceSession.create(file);
    const out = await s.run({ x: new ort.Tensor('float32', new Float32Array(1 << 20).fill(1), [1 << 20]) });
    expect((out.y.data as Float32Array)[13]).toBe(1 + (13 % 7));
    await s.release();
  });

  it('a missing output is reported with the outputs the model has', () => {
    expect(() => requireOutputs(readModel(SHARED_BACKBONE), ['s4_24ch', 'layer2'], 'bb.onnx')).toThrow(
      'backbone bb.onnx has no output "layer2"; it has: s4_24ch, s8_32ch, s16_96ch, s32_320ch',
    );
  });

  it('random channel subsets are reproducible, sorted and distinct', () => {
    const a = randomChannelSubset(152, 50, 7);
    expect(a).toEqual(randomChannelSubset(152, 50, 7));
    expect(a).not.toEqual(randomChannelSubset(152, 50, 8));
    expect(new Set(a).size).toBe(50);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(Math.max(...a)).toBeLessThan(152);
  });
});
