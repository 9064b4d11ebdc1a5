import path from 'node:path';
import type { Logger } from 'pino';
import { readManifest, type Manifest } from './manifest.js';
import { loadSession, ort, type LoadedSession, type SessionOptions } from '../inference/session.js';

export interface ScoredBatch {
  /** [n] image scores. */
  scores: Float32Array;
  /** [n, mapHeight, mapWidth] anomaly maps. */
  maps: Float32Array;
}

/** A recipe ready to score batches: manifest + one onnxruntime session for the composed model. */
export class RecipeModel {
  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    private readonly loaded: LoadedSession,
  ) {}

  static async load(dir: string, opts: SessionOptions, log: Logger): Promise<RecipeModel> {
    return RecipeModel.open(dir, await readManifest(dir), opts, log);
  }

  /** With a manifest in hand (fit scores its own good images before the manifest is final). */
  static async open(
    dir: string,
    manifest: Manifest,
    opts: SessionOptions,
    log: Logger,
  ): Promise<RecipeModel> {
    const loaded = await loadSession(path.join(dir, manifest.model.file), opts, log);
    return new RecipeModel(dir, manifest, loaded);
  }

  get provider(): string {
    return this.loaded.provider;
  }

  async score(tensor: Float32Array, n: number): Promise<ScoredBatch> {
    const { input, outputs } = this.manifest;
    const x = new ort.Tensor('float32', tensor, [n, input.channels, input.height, input.width]);
    const out = await this.loaded.session.run({ [input.name]: x });
    return { scores: out[outputs.score].data as Float32Array, maps: out[outputs.map].data as Float32Array };
  }

  async close(): Promise<void> {
    await this.loaded.session.release();
  }
}
