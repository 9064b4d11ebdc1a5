import type { InputSpec } from '../core/inputSpec.js';
import { ort } from '../inference/session.js';
import { modelFromFragment } from '../onnx/compose.js';
import { GraphBuilder } from '../onnx/graphBuilder.js';
import { encodeModel } from '../onnx/modelFile.js';
import { PIXELS_INPUT, VIEW_OUTPUT, withPixelFront } from './front.js';

/** One small session per recipe size: the pixel front alone, on the CPU. */
const sessions = new Map<string, Promise<ort.InferenceSession>>();

function frontSession(height: number, width: number): Promise<ort.InferenceSession> {
  const key = `${height}x${width}`;
  let s = sessions.get(key);
  if (!s) {
    const spec: InputSpec = {
      name: 'input',
      width,
      height,
      channels: 3,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: 'stretch-linear-front',
    };
    const b = new GraphBuilder(13);
    b.opNamed('y', 'Identity', ['input']);
    const model = modelFromFragment(
      b,
      [{ name: 'input', dims: ['N', 3, height, width] }],
      [{ name: 'y', dims: ['N', 3, height, width] }],
    );
    const bytes = encodeModel(withPixelFront(model, spec, 'resize'), 'resize');
    s = ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
    sessions.set(key, s);
    s.catch(() => sessions.delete(key));
  }
  return s;
}

/**
 * 8-bit HWC pixels (1 or 3 channels) brought to width x height by the same graph nodes every recipe runs in
 * front of its model (`front.ts`), so an image file is resized exactly as a camera frame of the same size is in
 * the daemon: fit, eval and inspection see the same pixels. Returns HWC with the input's channel count.
 */
export async function resizeLikeRecipe(
  data: Uint8Array,
  size: { width: number; height: number; channels: 1 | 3 },
  to: { width: number; height: number },
): Promise<Buffer> {
  if (size.width === to.width && size.height === to.height) return Buffer.from(data);
  const session = await frontSession(to.height, to.width);
  const x = new ort.Tensor('uint8', data, [1, size.height, size.width, size.channels]);
  const out = await session.run({ [PIXELS_INPUT]: x }, [VIEW_OUTPUT]);
  const view = out[VIEW_OUTPUT].data as Uint8Array;
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}
