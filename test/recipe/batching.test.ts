import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { RecipeModel } from '../../src/recipe/recipeModel.js';
import { SimSource } from '../../src/sources/sim/simSource.js';
import type { PixelBatch } from '../../src/preprocess/frame.js';

const DEMO = path.resolve(import.meta.dirname, '..', '..', 'models', 'demo');
const log = pino({ level: 'silent' });

async function simFrames(count: number, size: number, seed: number): Promise<PixelBatch[]> {
  const out: PixelBatch[] = [];
  const src = new SimSource({
    id: 'c',
    options: { width: size, height: size, fps: 0, defectRate: 0.5, seed, count },
    log,
  });
  for await (const f of src.frames())
    out.push({ data: f.data, n: 1, height: size, width: size, channels: 3 });
  return out;
}

describe('cameras on one recipe: one session, frames batched across cameras', () => {
  it('four cameras delivering at once are scored in one run, each result as if scored alone', async () => {
    const model = await RecipeModel.load(DEMO, { providers: ['cpu'], threads: 1 }, log, {
      maxBatch: 8,
      maxWaitMs: 3_600_000,
    });
    try {
      for (let i = 0; i < 4; i++) model.addCaller(1);
      const frames = await simFrames(4, 200, 21);
      const alone = await Promise.all(frames.map((f) => model.score(f)));
      const batched = await Promise.all(frames.map((f) => model.inspect(f)));
      expect(model.meanBatch).toBe(4);
      batched.forEach((r, i) => {
        expect(r.score).toBeCloseTo(alone[i].scores[0], 4);
        expect(Array.from(r.map.slice(0, 50))).toEqual(
          Array.from(alone[i].maps.slice(0, 50)).map((v) => expect.closeTo(v, 4)),
        );
        expect(Buffer.from(r.view).equals(Buffer.from(alone[i].views))).toBe(true);
      });
    } finally {
      await model.close();
    }
  });

  it('frames of different sizes from different cameras are never mixed, and all are answered', async () => {
    const model = await RecipeModel.load(DEMO, { providers: ['cpu'], threads: 1 }, log, {
      maxBatch: 8,
      maxWaitMs: 3_600_000,
    });
    try {
      for (let i = 0; i < 4; i++) model.addCaller(1);
      const frames = [...(await simFrames(2, 160, 5)), ...(await simFrames(2, 256, 6))];
      const results = await Promise.all(frames.map((f) => model.inspect(f)));
      expect(results).toHaveLength(4);
      expect(model.meanBatch).toBe(2);
      for (const [i, f] of frames.entries())
        expect(results[i].score).toBeCloseTo((await model.score(f)).scores[0], 4);
    } finally {
      await model.close();
    }
  });
});
