import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerUnavailable } from '../../src/inference/session.js';
import { RecipeModel } from '../../src/recipe/recipeModel.js';
import { SimSource } from '../../src/sources/sim/simSource.js';
import { ROOT } from '../helpers/paths.js';

const log = pino({ level: 'silent' });
const DEMO = path.join(ROOT, 'models', 'demo');
const N = 8;

/** N sim frames (half with defects), packed as one [N, H, W, 3] batch of camera bytes. */
async function simBatch(size = 256): Promise<{
  data: Uint8Array;
  n: number;
  height: number;
  width: number;
  channels: 3;
}> {
  const [width, height] = [size, size];
  const source = new SimSource({
    id: 'gpu',
    options: { width, height, fps: 0, defectRate: 0.5, seed: 3, count: N },
    log,
  });
  const data = new Uint8Array(N * width * height * 3);
  let i = 0;
  for await (const f of source.frames()) data.set(f.data, i++ * width * height * 3);
  await source.close();
  expect(i).toBe(N);
  return { data, n: N, height, width, channels: 3 };
}

describe('webgpu provider (Vulkan; lavapipe where there is no GPU)', () => {
  let cpu: RecipeModel;
  let gpu: RecipeModel;

  beforeAll(async () => {
    // Never a silent skip: a box without Vulkan fails here, saying what to install.
    const why = providerUnavailable('webgpu');
    if (why) {
      throw new Error(
        `webgpu is unavailable on this box: ${why}. Run scripts/install-deps.sh (as root), then retry.`,
      );
    }
    cpu = await RecipeModel.load(DEMO, { providers: ['cpu'], threads: 0 }, log);
    gpu = await RecipeModel.load(DEMO, { providers: ['webgpu'], threads: 0 }, log);
  });

  afterAll(async () => {
    await Promise.all([cpu?.close(), gpu?.close()]);
  });

  it('the demo recipe loads on webgpu, not a fallback', () => {
    expect(cpu.provider).toBe('cpu');
    expect(gpu.provider).toMatch(/^webgpu( |$)/);
  });

  // 256 px frames shrink to the demo's 128 px; 96 px frames grow, through the front's other pass.
  it.each([256, 96])(
    'scores 8 sim frames of %i px as cpu does: scores within 1e-4 relative, maps within 1e-3 absolute',
    async (size) => {
      const batch = await simBatch(size);
      const [a, b] = [await cpu.score(batch), await gpu.score(batch)];
      const { mapWidth, mapHeight } = cpu.manifest.outputs;
      expect(b.scores).toHaveLength(N);
      expect(b.maps).toHaveLength(N * mapWidth * mapHeight);

      const scoreErr = Math.max(
        ...a.scores.map((s, i) => Math.abs(s - b.scores[i]) / Math.max(Math.abs(s), 1e-6)),
      );
      let mapErr = 0;
      for (let i = 0; i < a.maps.length; i++) mapErr = Math.max(mapErr, Math.abs(a.maps[i] - b.maps[i]));
      expect(scoreErr, `largest relative score difference, webgpu vs cpu`).toBeLessThanOrEqual(1e-4);
      expect(mapErr, `largest absolute map difference, webgpu vs cpu`).toBeLessThanOrEqual(1e-3);
      // The frames really differ, so agreeing is not a constant passing for both.
      expect(Math.max(...a.scores) - Math.min(...a.scores)).toBeGreaterThan(0.1);
      // The 8-bit view comes from the same front on both; a GPU may round a half differently, by one level.
      let viewErr = 0;
      for (let i = 0; i < a.views.length; i++) viewErr = Math.max(viewErr, Math.abs(a.views[i] - b.views[i]));
      expect(b.views).toHaveLength(a.views.length);
      expect(viewErr, 'largest view byte difference, webgpu vs cpu').toBeLessThanOrEqual(1);
    },
  );
});
