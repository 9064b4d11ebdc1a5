#!/usr/bin/env node
// Many cameras on one recipe: 1, 2, 4 and 8 sim cameras running free (each delivers its next frame as soon as
// its pipeline takes one) into the daemon's Line, sharing one session, with cross-camera batching off
// (inference.batch.maxSize 1) and on (8). Prints aggregate frames/s and, per camera, p50/p99 of capture to
// verdict. Usage: node scripts/bench-cameras.mjs [frames per camera] [recipe dir] [providers, e.g. cpu]
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { benchLine, dist as d, pct, probeSink, root } from './lib/bench.mjs';

const { RecipeCache } = await d('app/recipes.js');

const perCamera = Number(process.argv[2] ?? 150);
const recipeDir = path.resolve(process.argv[3] ?? path.join(root, 'models', 'demo'));
const providers = (process.argv[4] ?? 'cpu').split(',');
const log = pino({ level: 'warn' });

async function run(cameras, maxBatch) {
  const recipe = path.basename(recipeDir);
  let cache;
  let models;
  const { line, journal } = await benchLine(
    {
      line: 'b',
      recipesDir: path.dirname(recipeDir),
      inference: { providers, batch: { maxSize: maxBatch } },
      cameras: Array.from({ length: cameras }, (_, i) => ({
        id: `cam${i + 1}`,
        recipe,
        source: { type: 'sim', width: 256, height: 256, fps: 0, defectRate: 0.25, seed: i + 1 },
        queue: { size: 2, policy: 'wait' },
      })),
    },
    {
      recipes: (config) => {
        const b = config.inference.batch;
        cache = new RecipeCache(config.recipesDir, { providers, threads: 0 }, log, {
          maxBatch: b.maxSize,
          maxWaitMs: b.maxWaitSec * 1000,
        });
        return cache;
      },
      models: async (config) =>
        (models = await Promise.all(config.cameras.map((c) => cache.acquire(c.recipe)))),
      log,
    },
  );
  const latency = new Map();
  let done = 0;
  let t0;
  const warm = 10;
  line.addSink(
    probeSink('timing', (v) => {
      // The first frames of each camera warm the session; timing starts once every camera is past them.
      if (v.seq <= warm) return;
      t0 ??= performance.now();
      done++;
      const xs = latency.get(v.cameraId) ?? [];
      xs.push(v.timings.totalMs);
      latency.set(v.cameraId, xs);
    }),
  );
  line.start();
  while (done < cameras * perCamera) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - t0) / 1000;
  await line.stop(Date.now() + 5000);
  const batch = models[0].meanBatch;
  await cache.closeAll();
  journal.close();
  const all = [...latency.values()];
  return {
    fps: done / seconds,
    p50: Math.max(...all.map((xs) => pct(xs, 0.5))),
    p99: Math.max(...all.map((xs) => pct(xs, 0.99))),
    batch,
  };
}

const cpus = os.cpus().length;
console.log(
  `recipe ${recipeDir}, providers ${providers.join(',')}, ${perCamera} timed frames per camera (256x256 RGB sim), ${cpus} cores`,
);
console.log('cameras | batching | frames/s (all) | mean batch | worst camera p50 / p99 capture->verdict ms');
console.log('---|---|---|---|---');
for (const cameras of [1, 2, 4, 8]) {
  for (const maxBatch of [1, 8]) {
    const r = await run(cameras, maxBatch);
    console.log(
      `${cameras} | ${maxBatch === 1 ? 'off' : `up to ${maxBatch}`} | ${r.fps.toFixed(0)} | ${r.batch.toFixed(2)} | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)}`,
    );
  }
}
