import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { HealthMonitor } from '../../src/app/health.js';
import { Line } from '../../src/app/line.js';
import { RecipeCache } from '../../src/app/recipes.js';
import { loadConfig } from '../../src/config/load.js';
import { SqliteJournal } from '../../src/journal/journal.js';
import { Metrics } from '../../src/core/metrics.js';
import type { Verdict, VerdictArtifacts } from '../../src/core/verdict.js';
import type { SinkContext } from '../../src/sinks/types.js';
import { tempDir } from './fixtures.js';
import { ROOT } from './paths.js';

export const quietLog = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/**
 * A configuration file of line L1 with one sim camera `cam1` on the demo recipe (CPU, one thread); `extra`
 * overrides or adds top-level sections, `camera` the camera's settings.
 */
export function demoConfig(
  extra: Record<string, unknown> = {},
  camera: Record<string, unknown> = {},
): string {
  const dir = tempDir('config');
  const file = path.join(dir, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      line: 'L1',
      recipesDir: path.join(ROOT, 'models'),
      inference: { providers: ['cpu'], threads: 1 },
      // Tests write only to temporary folders.
      journal: { path: path.join(dir, 'journal.sqlite') },
      archive: { dir: path.join(dir, 'archive') },
      cameras: [
        {
          id: 'cam1',
          recipe: 'demo',
          source: { type: 'sim', width: 128, height: 128, fps: 20, defectRate: 0.3, seed: 11 },
          ...camera,
        },
      ],
      ...extra,
    }),
  );
  return file;
}

/**
 * A real line as the daemon builds it (config -> recipes -> Line), with one sim camera `cam1` on the demo
 * recipe, its pipeline made but not started: sinks under test get a real LineControl and history.
 */
export async function testLine(extra: Record<string, unknown> = {}) {
  const config = loadConfig(demoConfig(extra), {});
  const recipes = new RecipeCache(config.recipesDir, { providers: ['cpu'], threads: 1 }, quietLog);
  const models = await Promise.all(config.cameras.map((c) => recipes.acquire(c.recipe)));
  const journal = SqliteJournal.open(config.journal, quietLog);
  const metrics = new Metrics();
  const health = new HealthMonitor(config.health, quietLog);
  const line = new Line({ config, recipes, models, journal, health, metrics, log: quietLog });
  return {
    config,
    line,
    journal,
    metrics,
    /** The context a sink kind's factory gets, with these settings. */
    context: <S>(settings: S): SinkContext<S> => ({
      settings,
      line: config.line,
      cameras: line.cameras,
      control: line,
      journal,
      metrics,
      log: quietLog,
    }),
    close: async () => {
      await line.stop(Date.now() + 2000);
      await recipes.closeAll();
      journal.close();
    },
  };
}

let n = 0;

/** A verdict of camera cam1 as the pipeline makes them (distinct ids and increasing times). */
export function testVerdict(ok: boolean, o: Partial<Verdict> = {}): Verdict {
  n++;
  return {
    resultId: `r-${String(n).padStart(6, '0')}-${process.pid}`,
    cameraId: 'cam1',
    recipe: 'demo',
    modelVersion: 'abcdef012345',
    partId: `P-${n}`,
    seq: n,
    ok,
    score: ok ? 1 : 9,
    threshold: 5,
    normalizedScore: ok ? 0.2 : 1.8,
    regions: ok ? [] : [{ x: 2, y: 2, width: 4, height: 4, area: 16, peak: 9 }],
    timings: { queueMs: 0, preprocessMs: 1, inferenceMs: 2, decisionMs: 0, totalMs: 3 },
    capturedAt: Date.now(),
    decidedAt: Date.now() + n,
    heatScale: { lo: 0, hi: 7.5 },
    ...o,
  };
}

const W = 16;

/** Artifacts of a 16x16 frame with a flat map. */
export const testArtifacts: VerdictArtifacts = {
  image: { data: Buffer.alloc(W * W * 3, 128), width: W, height: W, channels: 3 },
  map: new Float32Array(W * W).fill(1),
  mapWidth: W,
  mapHeight: W,
};
