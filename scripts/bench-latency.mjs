#!/usr/bin/env node
// Per-frame latency of the daemon's pipeline against onnxruntime alone, same recipe, same frames, same process.
//   raw:      session.run on frames already preprocessed (the floor: what the model costs)
//   pipeline: the daemon's Line with a sim camera delivering raw RGB frames (as a GigE camera would), paced below
//             capacity so queueing is not measured: preprocess + inference + decision + journal + sinks (MQTT to
//             an embedded broker, so serialization and publishing count too)
// Prints p50/p99 of each and their ratio, plus peak RSS. Usage: node scripts/bench-latency.mjs [frames] [recipe dir]
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const d = (p) => import(path.join(root, 'dist', p));
const { RecipeModel } = await d('recipe/recipeModel.js');
const { SimSource } = await d('sources/sim/simSource.js');
const { prepareFrame } = await d('preprocess/frame.js');
const { Metrics } = await d('core/metrics.js');
const { Line } = await d('app/line.js');
const { HealthMonitor } = await d('app/health.js');
const { SqliteJournal } = await d('journal/journal.js');
const { loadConfig } = await d('config/load.js');
const { MqttSink } = await d('sinks/mqtt/mqttSink.js');

const n = Number(process.argv[2] ?? 300);
const recipeDir = process.argv[3] ?? path.join(root, 'models', 'demo');
const log = pino({ level: 'warn' });
const session = { providers: ['cpu'], threads: 0 };
const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

const model = await RecipeModel.load(recipeDir, session, log);
const spec = model.manifest.input;
const simOpts = { width: 256, height: 256, fps: 0, defectRate: 0.25, seed: 3 };

// Raw: the same frames, preprocessed beforehand; only session.run is timed.
const tensors = [];
for await (const f of new SimSource({ id: 'bench', options: { ...simOpts, count: n }, log }).frames())
  tensors.push((await prepareFrame(f, spec)).tensor);
for (let i = 0; i < 10; i++) await model.score(tensors[i % tensors.length], 1); // warm-up
const raw = [];
for (const t of tensors) {
  const t0 = performance.now();
  await model.score(t, 1);
  raw.push(performance.now() - t0);
}

// Pipeline: the daemon's line (sim camera -> pipeline -> journal -> sinks), frames paced at ~1/3 of what raw
// inference could take, so each frame finds the pipeline idle. MQTT goes to its embedded broker.
// Well below capacity (inference plus a few ms of preprocessing, times three), so no frame waits for another.
const fps = Math.max(1, Math.floor(1000 / (3 * (pct(raw, 0.5) + 5))));
const dir = mkdtempSync(path.join(os.tmpdir(), 'inspectd-bench-'));
writeFileSync(
  path.join(dir, 'config.json'),
  JSON.stringify({
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
    journal: { path: path.join(dir, 'journal.sqlite') },
  }),
);
const config = loadConfig(path.join(dir, 'config.json'), {});
const metrics = new Metrics();
const journal = SqliteJournal.open(config.journal, log);
const health = new HealthMonitor(config.health, log);
const line = new Line({
  config,
  recipes: { acquire: async () => model, release: async () => {} },
  models: [model],
  journal,
  health,
  metrics,
  log,
});
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
const timing = {
  name: 'timing',
  start: async () => {},
  health: () => ({ ready: true }),
  stats: () => ({}),
  stop: async () => {},
  publish: (v) => {
    const sinks = performance.now() - doneAt(v);
    e2e.push(v.timings.preprocessMs + v.timings.inferenceMs + v.timings.decisionMs + sinks);
    stages.preprocess.push(v.timings.preprocessMs);
    stages.inference.push(v.timings.inferenceMs);
    stages.decision.push(v.timings.decisionMs);
    stages.sinks.push(sinks);
  },
};
// Time spent in the sinks after the decision: publish() is synchronous up to the socket write.
const decided = new Map();
const doneAt = (v) => decided.get(v.resultId) ?? performance.now();
const marker = {
  name: 'marker',
  start: async () => {},
  health: () => ({ ready: true }),
  stats: () => ({}),
  stop: async () => {},
  publish: (v) => decided.set(v.resultId, performance.now()),
};
for (const sink of [marker, mqtt, timing]) line.addSink(sink);
const p = line.pipelines[0];
line.start();
while (p.counts.ok + p.counts.ng < n) await new Promise((r) => setTimeout(r, 50));
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
  `ratio                  p50 ${(e50 / r50).toFixed(2)}  p99 ${(e99 / r99).toFixed(2)}     peak RSS ${rssMiB.toFixed(0)} MiB`,
);
