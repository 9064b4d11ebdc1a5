import path from 'node:path';
import type { Logger } from 'pino';
import { readManifest, type Manifest } from './manifest.js';
import { maxOverTiles, stitchMaps, tileCount } from '../core/tiling.js';
import { MicroBatcher, type BatcherSettings } from '../inference/microBatcher.js';
import { loadSession, ort, type LoadedSession, type SessionOptions } from '../inference/session.js';
import { encodeModel, readModel } from '../onnx/modelFile.js';
import type { PixelBatch } from '../preprocess/frame.js';
import { PIXELS_INPUT, VIEW_OUTPUT, withPixelFront } from '../preprocess/front.js';

export interface ScoredBatch {
  /** [n] image scores (of a tiled recipe: the max over each frame's tiles). */
  scores: Float32Array;
  /** [n, mapHeight, mapWidth] anomaly maps (of a tiled recipe: the tiles' maps stitched onto the canvas). */
  maps: Float32Array;
  /** [n, input.height, input.width, batch channels] the frames as the model saw them, 8-bit. */
  views: Uint8Array;
}

/** One frame's result. */
export interface Scored {
  score: number;
  /** [mapHeight, mapWidth] */
  map: Float32Array;
  /** [input.height, input.width, channels] 8-bit: the frame as the model saw it. */
  view: Uint8Array;
}

/** Batching across the cameras of a recipe (inference.batch). */
export type BatchOptions = BatcherSettings;

const NO_BATCH: BatchOptions = { maxBatch: 1, maxWaitMs: 0 };

/**
 * A recipe ready to score: its manifest and one onnxruntime session for the recipe's model with the pixel
 * front composed in (`preprocess/front.ts`): frames go in as the camera's bytes, at any size.
 */
export class RecipeModel {
  private readonly batcher: MicroBatcher<{ key: string; px: PixelBatch }, Scored>;

  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    private readonly loaded: LoadedSession,
    batch: BatchOptions,
  ) {
    this.batcher = new MicroBatcher(batch, (items) => this.runFrames(items.map((i) => i.px)));
  }

  static async load(
    dir: string,
    opts: SessionOptions,
    log: Logger,
    batch: BatchOptions = NO_BATCH,
  ): Promise<RecipeModel> {
    return RecipeModel.open(dir, await readManifest(dir), opts, log, batch);
  }

  /** With a manifest in hand (fit scores its own good images before the manifest is final). */
  static async open(
    dir: string,
    manifest: Manifest,
    opts: SessionOptions,
    log: Logger,
    batch: BatchOptions = NO_BATCH,
  ): Promise<RecipeModel> {
    const file = path.join(dir, manifest.model.file);
    if (manifest.input.resize === 'stretch-bilinear') {
      log.warn(
        { recipe: manifest.name, resize: manifest.input.resize },
        `recipe ${manifest.name} was fitted on images resized by sharp; frames are now resized inside the recipe graph, which gives the same pixels at the recipe's size and at twice it, and elsewhere moves scores by about 0.3 % (docs/architecture.md, "The pixel front"): refit it with inspectd fit to calibrate its threshold on the same resize`,
      );
    }
    const model = withPixelFront(readModel(file, { inlineExternal: true }), manifest.input, file);
    const loaded = await loadSession(encodeModel(model, file), opts, log, file);
    return new RecipeModel(dir, manifest, loaded, batch);
  }

  /** The execution provider, noting a software renderer: "webgpu (software Vulkan: lavapipe)". */
  get provider(): string {
    const { provider, software } = this.loaded;
    return software ? `${provider} (${software})` : provider;
  }

  /** Model inputs per frame: the tiles of a tiled recipe, else 1. */
  get tilesPerFrame(): number {
    return tileCount(this.manifest.input.tiling);
  }

  /** The largest batch `inspect` forms. */
  get maxBatch(): number {
    return this.batcher.maxBatch;
  }

  /** Mean frames per run of `inspect` so far (1 when nothing was batched). */
  get meanBatch(): number {
    return this.batcher.runs ? this.batcher.served / this.batcher.runs : 1;
  }

  /** A camera starts or stops using the recipe (how many frames a batch may wait for). */
  addCaller(delta: 1 | -1): void {
    this.batcher.callers = Math.max(0, this.batcher.callers + delta);
  }

  /** One frame, batched with the other cameras' frames of the same size when that pays (see MicroBatcher). */
  inspect(frame: PixelBatch): Promise<Scored> {
    return this.batcher.submit({ key: `${frame.height}x${frame.width}x${frame.channels}`, px: frame });
  }

  private async runFrames(frames: PixelBatch[]): Promise<Scored[]> {
    const first = frames[0];
    const data = frames.length === 1 ? first.data : Buffer.concat(frames.map((f) => f.data));
    const out = await this.score({ ...first, data, n: frames.length });
    const { mapWidth, mapHeight } = this.manifest.outputs;
    const plane = mapWidth * mapHeight;
    const viewSize = out.views.length / frames.length;
    return frames.map((_, i) => ({
      score: out.scores[i],
      map: out.maps.subarray(i * plane, (i + 1) * plane),
      view: out.views.subarray(i * viewSize, (i + 1) * viewSize),
    }));
  }

  /**
   * A batch straight to the session (files in fit and eval): one run, also for a tiled recipe, whose graph
   * scores the n frames' tiles as one batch; their maps are stitched here (a stitch in the graph would need a
   * canvas-sized tensor per tile, and the maps leave the session anyway).
   */
  async score(batch: PixelBatch): Promise<ScoredBatch> {
    const { n, height, width, channels } = batch;
    const x = new ort.Tensor('uint8', batch.data, [n, height, width, channels]);
    const out = await this.loaded.session.run({ [PIXELS_INPUT]: x });
    const { outputs, input } = this.manifest;
    const scores = out[outputs.score].data as Float32Array;
    const maps = out[outputs.map].data as Float32Array;
    const views = out[VIEW_OUTPUT].data as Uint8Array;
    if (!input.tiling) return { scores, maps, views };
    return {
      scores: maxOverTiles(scores, this.tilesPerFrame),
      maps: stitchMaps(maps, input.tiling, input, n),
      views,
    };
  }

  async close(): Promise<void> {
    await this.loaded.session.release();
  }
}
