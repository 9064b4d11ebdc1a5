import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from '../../src/onnx/proto.js';
import { writeModel } from '../../src/onnx/modelFile.js';

/** Writes a model to a temp file and opens an onnxruntime CPU session on it. */
export async function sessionFor(
  model: ModelProto,
): Promise<{ session: ort.InferenceSession; cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'inspectd-onnx-'));
  const file = path.join(dir, 'model.onnx');
  writeModel(model, file);
  const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'] });
  return {
    session,
    cleanup: async () => {
      await session.release();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { ort };
