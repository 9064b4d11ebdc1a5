import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/app/metrics.js';
import type { Verdict } from '../../src/core/verdict.js';
import { RecipeModel } from '../../src/inference/recipeModel.js';
import { CameraPipeline } from '../../src/pipeline/cameraPipeline.js';
import type { Sink } from '../../src/sinks/types.js';
import { SimSource } from '../../src/sources/sim/simSource.js';
import { ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/peers.js';

const log = pino({ level: 'silent' });
const collector = (): Sink & { got: Verdict[] } => {
  const got: Verdict[] = [];
  return {
    name: 'collect',
    got,
    start: async () => {},
    stop: async () => {},
    ready: () => true,
    publish: (v) => void got.push(v),
  };
};
const settings = {
  cameraId: 'c1',
  queueSize: 2,
  dropPolicy: 'wait' as const,
  minRegionArea: 4,
  maxRegions: 8,
};

describe('camera pipeline', () => {
  it('sim camera + demo recipe: one verdict per frame, in order, labelled defects mostly NG', async () => {
    const recipe = await RecipeModel.load(
      path.join(ROOT, 'models', 'demo'),
      { providers: ['cpu'], threads: 1 },
      log,
    );
    const sink = collector();
    const p = new CameraPipeline(
      settings,
      new SimSource({ id: 'c1', width: 256, height: 256, fps: 0, defectRate: 0.5, seed: 5, count: 40 }, log),
      recipe,
      'demo',
      [sink],
      new Metrics(),
      log,
    );
    p.start();
    await waitFor(() => sink.got.length === 40, '40 verdicts');
    await p.stop(Date.now() + 5000);
    await recipe.close();
    expect(sink.got.map((v) => v.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const defective = sink.got.filter((v) => v.label?.defective);
    const good = sink.got.filter((v) => !v.label?.defective);
    expect(defective.filter((v) => !v.ok).length / defective.length).toBeGreaterThanOrEqual(0.8);
    expect(good.filter((v) => v.ok).length / good.length).toBeGreaterThanOrEqual(0.8);
    expect(p.counts).toMatchObject({ frames: 40, dropped: 0, failed: 0 });
  });

  it('an inference failure loses that frame only, counted; the camera goes on (fake model: a real session cannot be made to fail on demand)', async () => {
    const real = await RecipeModel.load(
      path.join(ROOT, 'models', 'demo'),
      { providers: ['cpu'], threads: 1 },
      log,
    );
    let calls = 0;
    const flaky = Object.create(real) as RecipeModel;
    flaky.score = async (t, n) => {
      if (++calls === 2) throw new Error('CUDA error: an illegal memory access');
      return real.score(t, n);
    };
    const sink = collector();
    const metrics = new Metrics();
    const p = new CameraPipeline(
      settings,
      new SimSource({ id: 'c1', width: 128, height: 128, fps: 0, defectRate: 0, seed: 1, count: 5 }, log),
      flaky,
      'demo',
      [sink],
      metrics,
      log,
    );
    p.start();
    await waitFor(() => sink.got.length === 4, '4 verdicts');
    await p.stop(Date.now() + 5000);
    await real.close();
    expect(sink.got.map((v) => v.seq)).toEqual([1, 3, 4, 5]);
    expect(p.counts.failed).toBe(1);
    expect(await metrics.registry.metrics()).toContain(
      'inspectd_frames_dropped_total{camera="c1",reason="inspection_failed"} 1',
    );
  });
});
