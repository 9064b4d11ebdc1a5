import type { Logger } from 'pino';
import { InspectdError } from '../core/errors.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../core/inputSpec.js';
import { defaultOpset, requireOutputs } from '../onnx/compose.js';
import { readModel } from '../onnx/modelFile.js';
import type { ModelProto } from '../onnx/proto.js';
import { loadSession, ort, type SessionOptions } from './session.js';

export interface BackboneLevel {
  name: string;
  channels: number;
  height: number;
  width: number;
}

export interface BackboneInfo {
  file: string;
  model: ModelProto;
  opset: number;
  inputName: string;
  metadata: Record<string, string>;
  mean: number[];
  std: number[];
  /** The requested levels, finest grid first. */
  levels: BackboneLevel[];
}

function parseTriple(v: string | undefined, fallback: number[]): number[] {
  const parts = v?.split(',').map(Number);
  return parts && parts.length === 3 && parts.every(Number.isFinite) ? parts : fallback;
}

/**
 * Reads a feature backbone and learns the shape of each requested level by running it once at the input
 * size (the only reliable way with dynamic H/W). Fails listing the outputs it has when a level is missing.
 */
export async function inspectBackbone(
  file: string,
  layers: readonly string[],
  size: { width: number; height: number },
  sessionOptions: SessionOptions,
  log: Logger,
): Promise<BackboneInfo> {
  const model = readModel(file);
  const inputs = (model.graph?.input ?? []).filter(
    (i) => !(model.graph?.initializer ?? []).some((t) => t.name === i.name),
  );
  if (inputs.length !== 1) {
    throw new InspectdError(
      `backbone ${file} has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); a feature backbone takes one image tensor`,
      {
        subject: file,
        fix: 'export it with scripts/export_backbone.py',
      },
    );
  }
  requireOutputs(model, layers, file);
  const metadata = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const inputName = inputs[0].name ?? 'input';
  const { session } = await loadSession(file, { ...sessionOptions, providers: ['cpu'] }, log);
  try {
    const probe = new ort.Tensor('float32', new Float32Array(3 * size.width * size.height), [
      1,
      3,
      size.height,
      size.width,
    ]);
    const out = await session.run({ [inputName]: probe }, [...layers]);
    const levels = layers.map((name) => {
      const d = out[name].dims;
      if (d.length !== 4) {
        throw new InspectdError(
          `backbone output ${name} has shape [${d.join(',')}]; a feature level must be [N,C,H,W]`,
          { subject: name, fix: 'pick feature-map outputs for --layers' },
        );
      }
      return { name, channels: d[1], height: d[2], width: d[3] };
    });
    levels.sort((a, b) => b.height * b.width - a.height * a.width);
    return {
      file,
      model,
      opset: defaultOpset(model),
      inputName,
      metadata,
      mean: parseTriple(metadata['inspectd.mean'], IMAGENET_MEAN),
      std: parseTriple(metadata['inspectd.std'], IMAGENET_STD),
      levels,
    };
  } finally {
    await session.release();
  }
}
