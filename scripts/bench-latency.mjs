#!/usr/bin/env node
// Per-frame latency of the daemon's pipeline against onnxruntime alone, same recipe, same frames, same process.
//   raw:      the recipe's session.run on the same camera frames (its graph resizes and normalizes them): what
//             the model costs. Each frame is run alone half a frame period after the pipeline's verdict for it,
//             so both see the same machine (on a shared VM, runs measured minutes apart differ by 30 %)
//   pipeline: the daemon's Line with a sim camera delivering raw RGB frames (as a GigE camera would), paced below
//             capacity so queueing is not measured: preprocess + inference + decision + journal + sinks (MQTT to
//             an embedded broker, so serialization and publishing count too)
// Prints p50/p99 of each and their ratio, plus peak RSS. Usage: node scripts/bench-latency.mjs [frames] [recipe dir]
import path from 'node:path';
import pino from 'pino';
import { benchLine, dist as d, pct, probeSink, root } from './lib/bench.mjs';

const { RecipeModel } = await d('recipe/recipeModel.js');
const { SimSource } = await d('sources/sim/simSource.js');
const { framePixels } = await d('preprocess/frame.js');
const { MqttSink } = await d('sinks/mqtt/mqttSink.js');

const n = Number(process.argv[2] ?? 300);
const recipeDir = process.argv[3] ?? path.join(root, 'models', 'demo');
const log = pino({ level: 'warn' });
const session = { providers: ['cpu'], threads: 0 };

const model = await RecipeModel.load(recipeDir, session, log);
const spec = model.manifest.input;
const simOpts = { width: 256, height: 256, fps: 0, defectRate: 0.25, seed: 3 };

// Raw: the same frames as the camera delivers them; only session.run is timed.
const frames = [];
for await (const f of new SimSource({ id: 'bench', options: { ...simOpts, count: n }, log }).frames())
  frames.push(await framePixels(f, spec));
const warm = [];
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  await model.score(frames[i % frames.length]);
  warm.push(performance.now() - t0);
}
// Frames paced at ~1/3 of what inference could take (plus a few ms), so each finds the pipeline idle and no
// frame waits for another; the baseline gets the same pace.
const fps = Math.max(1, Math.floor(1000 / (3 * (pct(warm, 0.5) + 5))));
const raw = [];
let rawPending = 0;
const measureRaw = (f) => {
  rawPending++;
  setTimeout(async () => {
    const t0 = performance.now();
    await model.score(f);
    raw.push(performance.now() - t0);
    rawPending--;
  }, 500 / fps);
};

// Pipeline: the daemon's line (sim camera -> pipeline -> journal -> sinks). MQTT goes to its embedded broker.
const { line, config, metrics, journal } = await benchLine(
  {
    line: 'b',
    recipesDir: path.dirname(path.resolve(recipeDir)),
    cameras: [
      {
        id: 'bench',
        recipe: path.basename(path.resolve(recipeDir)),
        source: { type: 'sim', ...simOpts, fps },
        queue: { size: 4, policy: 'wait' },
      },
    ],
    mqtt: { prefix: 'bench', statsIntervalSec: 0, embedded: { port: 0 } },
  },
  {
    recipes: () => ({ acquire: async () => model, release: async () => {} }),
    models: async () => [model],
    log,
  },
);
const mqtt = new MqttSink({
  settings: config.mqtt,
  line: 'b',
  cameras: line.cameras,
  control: line,
  journal,
  metrics,
  log,
});
await mqtt.start();
while (!mqtt.health().ready) await new Promise((r) => setTimeout(r, 20));
const e2e = [];
const stages = { preprocess: [], inference: [], decision: [], sinks: [] };
const timing = probeSink('timing', (v) => {
  if (v.seq > n) return;
  const sinks = performance.now() - doneAt(v);
  e2e.push(v.timings.preprocessMs + v.timings.inferenceMs + v.timings.decisionMs + sinks);
  stages.preprocess.push(v.timings.preprocessMs);
  stages.inference.push(v.timings.inferenceMs);
  stages.decision.push(v.timings.decisionMs);
  stages.sinks.push(sinks);
  measureRaw(frames[v.seq - 1]);
});
// Time spent in the sinks after the decision: publish() is synchronous up to the socket write.
const decided = new Map();
const doneAt = (v) => decided.get(v.resultId) ?? performance.now();
const marker = probeSink('marker', (v) => decided.set(v.resultId, performance.now()));
for (const sink of [marker, mqtt, timing]) line.addSink(sink);
const p = line.pipelines[0];
line.start();
while (p.counts.ok + p.counts.ng < n || rawPending) await new Promise((r) => setTimeout(r, 50));
await line.stop(Date.now() + 5000);
await mqtt.stop();
await model.close();
journal.close();

const rssMiB = process.resourceUsage().maxRSS / 1024;
const r50 = pct(raw, 0.5),
  r99 = pct(raw, 0.99),
  e50 = pct(e2e, 0.5),
  e99 = pct(e2e, 0.99);
console.log(
  `recipe ${recipeDir} (${spec.width}x${spec.height}), ${n} sim frames 256x256 RGB, paced at ${fps}/s`,
);
console.log(`onnxruntime alone      p50 ${r50.toFixed(2)} ms  p99 ${r99.toFixed(2)} ms`);
console.log(
  `pipeline end-to-end    p50 ${e50.toFixed(2)} ms  p99 ${e99.toFixed(2)} ms   (preprocess + inference + decision + MQTT publish)`,
);
console.log(
  `  stages p50: ${Object.entries(stages)
    .map(([k, xs]) => `${k} ${pct(xs, 0.5).toFixed(2)} ms`)
    .join(', ')}`,
);
console.log(
  `  stages p99: ${Object.entries(stages)
    .map(([k, xs]) => `${k} ${pct(xs, 0.99).toFixed(2)} ms`)
    .join(', ')}`,
);
console.log(
  `ratio                  p50 ${(e50 / r50).toFixed(2)}  p99 ${(e99 / r99).toFixed(2)}     peak RSS ${rssMiB.toFixed(0)} MiB`,
);
