import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Frame, FrameSource } from '../../src/core/frame.js';
import { Metrics } from '../../src/core/metrics.js';
import type { Verdict } from '../../src/core/verdict.js';
import { RecipeModel } from '../../src/recipe/recipeModel.js';
import { CameraPipeline, type PipelineSettings } from '../../src/pipeline/cameraPipeline.js';
import { SimSource } from '../../src/sources/sim/simSource.js';
import { ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/peers.js';
import { within } from '../helpers/waiting.js';

const log = pino({ level: 'silent' });
const collector = (): { got: Verdict[]; publish: (v: Verdict) => void } => {
  const got: Verdict[] = [];
  return { got, publish: (v) => void got.push(v) };
};
const settings: PipelineSettings = {
  cameraId: 'c1',
  queueSize: 2,
  dropPolicy: 'wait' as const,
  minRegionArea: 4,
  maxRegions: 8,
};

interface SimTest {
  width: number;
  height: number;
  fps: number;
  defectRate: number;
  seed: number;
  count?: number;
}

const sim = (options: SimTest): SimSource => new SimSource({ id: 'c1', options, log });

/** A pipeline on `source` and `model` (the demo recipe) publishing to `publish`. */
const pipeline = (
  source: FrameSource,
  model: RecipeModel,
  publish: (v: Verdict) => void = () => {},
  metrics = new Metrics(),
  s: PipelineSettings = settings,
): CameraPipeline =>
  new CameraPipeline({ settings: s, source, recipe: { name: 'demo', model }, metrics, log, publish });

describe('camera pipeline', () => {
  it('sim camera + demo recipe: one verdict per frame, in order, labelled defects mostly NG', async () => {
    const recipe = await RecipeModel.load(
      path.join(ROOT, 'models', 'demo'),
      { providers: ['cpu'], threads: 1 },
      log,
    );
    const sink = collector();
    const p = pipeline(
      sim({ width: 256, height: 256, fps: 0, defectRate: 0.5, seed: 5, count: 40 }),
      recipe,
      sink.publish,
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
    flaky.inspect = async (frame) => {
      if (++calls === 2) throw new Error('CUDA error: an illegal memory access');
      return real.inspect(frame);
    };
    const sink = collector();
    const metrics = new Metrics();
    const p = pipeline(
      sim({ width: 128, height: 128, fps: 0, defectRate: 0, seed: 1, count: 5 }),
      flaky,
      sink.publish,
      metrics,
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

const loadDemo = () =>
  RecipeModel.load(path.join(ROOT, 'models', 'demo'), { providers: ['cpu'], threads: 1 }, log);

/**
 * A camera in software-trigger mode: one sim frame per trigger() call, nothing otherwise. A stand-in for a
 * GigE camera, which cannot run here with a trigger line; the frames are the real sim camera's.
 */
class TriggeredSim implements FrameSource {
  readonly id = 'c1';
  readonly kind = 'triggered-sim';
  state: FrameSource['state'] = 'streaming';
  triggers = 0;
  private readonly sim = sim({ width: 128, height: 128, fps: 0, defectRate: 0.5, seed: 3 });
  private readonly it = this.sim.frames()[Symbol.asyncIterator]();
  private pending: ((f: Frame | undefined) => void)[] = [];
  private closed = false;
  async trigger(): Promise<void> {
    this.triggers++;
    const next = await this.it.next();
    this.pending.shift()?.(next.done ? undefined : next.value);
  }
  async *frames(): AsyncIterable<Frame> {
    while (!this.closed) {
      const f = await new Promise<Frame | undefined>((r) => this.pending.push(r));
      if (!f) return;
      yield f;
    }
  }
  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.pending.splice(0)) r(undefined);
    await this.sim.close();
  }
  stats = () => ({ frames: 0, dropped: 0, triggers: this.triggers });
}

describe('camera pipeline control (modes and single requests)', () => {
  it('triggered mode inspects only the requested frame, tagged with the part id; stopped refuses requests', async () => {
    const recipe = await loadDemo();
    const sink = collector();
    const metrics = new Metrics();
    const p = pipeline(
      sim({ width: 128, height: 128, fps: 40, defectRate: 0, seed: 2 }),
      recipe,
      sink.publish,
      metrics,
      { ...settings, dropPolicy: 'drop-oldest' },
    );
    p.setMode('triggered');
    p.start();
    await waitFor(() => p.counts.skipped >= 5, '5 skipped frames');
    expect(sink.got).toHaveLength(0);
    const framesBefore = p.counts.frames;
    const pending = p.requestSingle('PART-7');
    expect(p.busy).toBe(true);
    await expect(p.requestSingle('PART-8')).rejects.toThrow(/busy/);
    const v = await within(pending, 'the requested verdict');
    expect(v.partId).toBe('PART-7');
    expect(v.seq).toBeGreaterThan(framesBefore);
    expect(p.busy).toBe(false);
    expect(sink.got.map((x) => x.resultId)).toEqual([v.resultId]);
    await waitFor(() => p.counts.skipped >= framesBefore + 5, 'more skipped frames');
    expect(sink.got).toHaveLength(1);

    p.setMode('stopped');
    await expect(p.requestSingle('PART-9')).rejects.toThrow(/stopped/);
    p.setMode('continuous');
    await waitFor(() => sink.got.length >= 4, 'continuous verdicts again');
    expect(await metrics.registry.metrics()).toMatch(
      /inspectd_frames_dropped_total\{camera="c1",reason="idle"\} \d+/,
    );
    await p.stop(Date.now() + 5000);
    await recipe.close();
  });

  it('in continuous mode a request tags the next frame and every frame is still inspected', async () => {
    const recipe = await loadDemo();
    const sink = collector();
    const p = pipeline(
      sim({ width: 128, height: 128, fps: 30, defectRate: 0, seed: 4 }),
      recipe,
      sink.publish,
    );
    p.start();
    await waitFor(() => sink.got.length >= 3, '3 verdicts');
    const v = await within(p.requestSingle('P-1'), 'the requested verdict');
    await waitFor(() => sink.got.length >= v.seq + 2, 'two more verdicts');
    const seqs = sink.got.map((x) => x.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(sink.got.filter((x) => x.partId === 'P-1').map((x) => x.resultId)).toEqual([v.resultId]);
    expect(p.counts.skipped).toBe(0);
    await p.stop(Date.now() + 5000);
    await recipe.close();
  });

  it('a source with trigger() is triggered once per request (software-trigger camera stand-in)', async () => {
    const recipe = await loadDemo();
    const sink = collector();
    const source = new TriggeredSim();
    const p = pipeline(source, recipe, sink.publish);
    p.setMode('triggered');
    p.start();
    const a = await within(p.requestSingle('A'), 'verdict A');
    const b = await within(p.requestSingle('B'), 'verdict B');
    expect([a.partId, b.partId, a.seq, b.seq]).toEqual(['A', 'B', 1, 2]);
    expect(source.triggers).toBe(2);
    expect(sink.got).toHaveLength(2);
    const c = p.requestSingle('C');
    expect(p.abortSingle('operator abort')).toBe(true);
    await expect(c).rejects.toThrow(/aborted: operator abort/);
    expect(p.busy).toBe(false);
    await p.stop(Date.now() + 5000);
    await recipe.close();
  });

  it('a trigger the camera refuses (free run) still gets the next frame for the request', async () => {
    const recipe = await loadDemo();
    const sink = collector();
    const camera = sim({ width: 128, height: 128, fps: 20, defectRate: 0, seed: 6 });
    const freeRun: FrameSource = {
      id: 'c1',
      kind: 'free-run',
      get state() {
        return camera.state;
      },
      frames: () => camera.frames(),
      close: () => camera.close(),
      stats: () => camera.stats(),
      trigger: () => Promise.reject(new Error('camera c1 is in free run, it cannot be triggered')),
    };
    const p = pipeline(freeRun, recipe, sink.publish);
    p.setMode('triggered');
    p.start();
    const v = await within(p.requestSingle('F-1'), 'the verdict of the next frame');
    expect(v.partId).toBe('F-1');
    expect(sink.got.map((x) => x.resultId)).toEqual([v.resultId]);
    await p.stop(Date.now() + 5000);
    await recipe.close();
  });

  it('a pending request is rejected when the camera stops', async () => {
    const recipe = await loadDemo();
    const source = new TriggeredSim();
    source.trigger = async () => {}; // a trigger that never yields a frame: the camera missed it
    const p = pipeline(source, recipe);
    p.setMode('triggered');
    p.start();
    const r = p.requestSingle('X');
    await p.stop(Date.now() + 2000);
    await expect(r).rejects.toThrow(/camera stopping/);
    await recipe.close();
  });
});
