import { parseSize } from '../core/inputSpec.js';
import type { Logger } from 'pino';
import { InspectdError } from '../core/errors.js';
import type { GraphOutput } from '../onnx/compose.js';
import { GraphBuilder } from '../onnx/graphBuilder.js';
import { readModel } from '../onnx/modelFile.js';
import type { SkippedImage } from '../preprocess/batches.js';
import { SCORE_OUTPUT, mapToOutputs } from '../scoring/mapHead.js';
import {
  startFit,
  streamBatches,
  type FewImagesAdvice,
  type FitBaseOptions,
  type FitStart,
} from './fitCommon.js';

/** fit --method hybrid|multilevel: an autoencoder exported by scripts/train_*.py + good images -> recipe. */
export type AutoencoderFitOptions = Omit<FitBaseOptions, 'backbone' | 'layers' | 'size'> & {
  /** The ONNX model the training script wrote. */
  model: string;
  /**
   * Input size (N or WxH); the model's own (metadata inspectd.size, square) when left out. With `tile`: the
   * canvas, whose tiles are the model's own size.
   */
  size?: string;
};

export type TrainedMethod = 'hybrid' | 'multilevel' | 'fusion';

const SCRIPTS: Record<TrainedMethod, string> = {
  hybrid: 'scripts/train_hybrid.py',
  multilevel: 'scripts/train_multilevel.py',
  fusion: 'scripts/train_fusion.py',
};

/** `inspectd.kind` of the models the training scripts write: autoencoders, and the trained fusion network. */
const TRAINED_KINDS = ['autoencoder', 'trained'];

const advice = (o: AutoencoderFitOptions): FewImagesAdvice => ({
  need: `the normalizing weights and the threshold need at least ${o.minImages}`,
  fix: 'add good images, or lower --min-images (at your own risk)',
});

/**
 * Checks the model is one the method's training script wrote, takes its fixed input size (the tile size when
 * the fit is tiled: an autoencoder reconstructs what it was trained on), and starts the fit as every method
 * does (output folder, image list, model inspected with `layers` as its levels).
 */
export async function startTrainedFit(
  o: AutoencoderFitOptions,
  method: TrainedMethod,
  layers: string[],
  log: Logger,
): Promise<{ start: FitStart; base: FitBaseOptions }> {
  const meta = Object.fromEntries(
    (readModel(o.model).metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']),
  );
  const fromScript = TRAINED_KINDS.includes(meta['inspectd.kind']);
  if (!fromScript || meta['inspectd.method'] !== method) {
    const why = fromScript
      ? `was trained for --method ${meta['inspectd.method']}, not ${method}`
      : `is not a model written by an inspectd training script (inspectd.kind: ${meta['inspectd.kind'] ?? 'none'})`;
    throw new InspectdError(`--model ${o.model} ${why}`, {
      subject: o.model,
      fix: `train one with ${SCRIPTS[method]}, or pass the --method it was trained for`,
    });
  }
  const trained = Number(meta['inspectd.size']);
  const base: FitBaseOptions = { ...o, size: String(trained), backbone: o.model, layers };
  const isTrainedSize = (v: string) => {
    const z = parseSize(v)!;
    return z.width === trained && z.height === trained;
  };
  const differs = (flag: string, value: string, fix: string) =>
    new InspectdError(`${flag} ${value} differs from the size the model was trained at (${trained})`, {
      subject: flag,
      value,
      fix,
    });
  if (o.tile !== undefined) {
    if (!isTrainedSize(o.tile))
      throw differs(
        '--tile',
        o.tile,
        `pass --tile ${trained} (an autoencoder scores tiles of its trained size) or retrain at ${o.tile}`,
      );
    if (o.size === undefined) {
      throw new InspectdError(`--tile ${o.tile} needs --size, the canvas the tiles are cut from`, {
        subject: '--size',
        fix: `pass --size WxH, the size each image is resized to before it is cut into ${trained}x${trained} tiles (e.g. --size ${2 * trained}x${trained})`,
      });
    }
    base.size = o.size;
  } else if (o.size !== undefined && !isTrainedSize(o.size)) {
    throw differs(
      '--size',
      o.size,
      `leave --size out (it defaults to ${trained}), retrain at ${o.size}, or pass --tile ${trained} to cut a ${o.size} canvas into tiles the model knows`,
    );
  }
  return { start: await startFit(base, log, advice(o)), base };
}

export interface TermPass {
  /** Per model input (an image, or each tile of one, in file order), the max of the blurred term map. */
  scores: number[];
  skipped: SkippedImage[];
  /** Images used. */
  images: number;
}

/**
 * One pass over the good images with a term's map as the recipe's map (the same upsample + blur + max
 * tail): its image-level value per image, from which the term's normalizing weight is set. `extra` model
 * outputs reach `onExtra` per batch.
 */
export async function termPass(
  start: FitStart,
  base: FitBaseOptions,
  log: Logger,
  term: (b: GraphBuilder) => string,
  extra: { outputs: GraphOutput[]; onExtra: (values: Record<string, Float32Array>, n: number) => void } = {
    outputs: [],
    onExtra: () => undefined,
  },
): Promise<TermPass> {
  const b = new GraphBuilder(start.bb.opset);
  mapToOutputs(b, term(b), start.bb.inputName, base.blurSigma);
  const scores: number[] = [];
  const skipped: SkippedImage[] = [];
  const names = [SCORE_OUTPUT, ...extra.outputs.map((x) => x.name)];
  const images = await streamBatches(
    start,
    b,
    [{ name: SCORE_OUTPUT, dims: ['N'] }, ...extra.outputs],
    base,
    log,
    skipped,
    async (run, n) => {
      const out = await run({}, names);
      scores.push(...(out[SCORE_OUTPUT].data as Float32Array));
      extra.onExtra(
        Object.fromEntries(extra.outputs.map((x) => [x.name, out[x.name].data as Float32Array])),
        n,
      );
    },
  );
  return { scores, skipped, images };
}

/** 1 / mean: the patents' normalization, so each term counts about 1 on a typical good image. */
export function inverseMean(values: readonly number[], term: string): number {
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  if (!(mean > 0) || !Number.isFinite(mean)) {
    throw new InspectdError(
      `the ${term} term is ${mean} on average over the good images; it cannot be normalized`,
      {
        subject: term,
        value: mean,
        fix: 'retrain the model (a constant output means training failed), or check the images',
      },
    );
  }
  return 1 / mean;
}
