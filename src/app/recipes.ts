import path from 'node:path';
import type { Logger } from 'pino';
import { InspectdError } from '../core/errors.js';
import { RecipeModel, type BatchOptions } from '../recipe/recipeModel.js';
import type { SessionOptions } from '../inference/session.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Loaded recipes by name, shared by the cameras that use them (one onnxruntime session each; sessions take
 * concurrent runs). Each is warmed with one inference at load, so the first real frame is not the slow one.
 */
export class RecipeCache {
  private readonly loaded = new Map<string, Promise<RecipeModel>>();
  private readonly users = new Map<string, number>();

  constructor(
    private readonly dir: string,
    private readonly session: SessionOptions,
    private readonly log: Logger,
    private readonly batch: BatchOptions = { maxBatch: 1, maxWaitMs: 0 },
  ) {}

  async acquire(name: string): Promise<RecipeModel> {
    if (!NAME.test(name)) {
      throw new InspectdError(`recipe name ${JSON.stringify(name)} is not valid`, {
        subject: 'recipe',
        value: name,
        fix: 'use the folder name of a recipe: letters, digits, _ . -',
      });
    }
    let p = this.loaded.get(name);
    if (!p) {
      p = this.load(name);
      this.loaded.set(name, p);
      p.catch(() => this.loaded.delete(name));
    }
    const model = await p;
    this.users.set(name, (this.users.get(name) ?? 0) + 1);
    model.addCaller(1);
    return model;
  }

  /** Releases one use; the session is freed when no camera uses the recipe any more. */
  async release(name: string): Promise<void> {
    const n = (this.users.get(name) ?? 1) - 1;
    this.users.set(name, n);
    const p = this.loaded.get(name);
    if (n > 0) {
      (await p)?.addCaller(-1);
      return;
    }
    this.loaded.delete(name);
    this.users.delete(name);
    await (await p)?.close();
  }

  private async load(name: string): Promise<RecipeModel> {
    const dir = path.join(this.dir, name);
    const t0 = performance.now();
    const model = await RecipeModel.load(dir, this.session, this.log.child({ recipe: name }), this.batch);
    const { input } = model.manifest;
    const { width, height, channels } = input;
    await model.score({ data: new Uint8Array(width * height * channels), n: 1, width, height, channels });
    this.log.info(
      { recipe: name, provider: model.provider, ms: Math.round(performance.now() - t0) },
      `recipe ${name} loaded and warmed on ${model.provider}${model.maxBatch > 1 ? `, cameras batched up to ${model.maxBatch} frames` : ''}`,
    );
    return model;
  }

  async closeAll(): Promise<void> {
    const all = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.close()));
  }
}
