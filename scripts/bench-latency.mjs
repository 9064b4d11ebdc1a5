#!/usr/bin/env node
// Per-frame latency of the daemon's pipeline against onnxruntime alone, same recipe, same frames, same process.
//   raw:      session.run on frames already preprocessed (the floor: what the model costs)
//   pipeline: CameraPipeline with a sim camera delivering raw RGB frames (as a GigE camera would), paced below
//             capacity so queueing is not measured: preprocess + inference + decision + sinks (MQTT to an embedded
//             broker, so serialization and publishing count too)
// Prints p50/p99 of each and their ratio, plus peak RSS. Usage: node scripts/bench-latency.mjs [frames] [recipe dir]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const d = (p) => import(path.join(root, 'dist', p));
const { RecipeModel } = await d('inference/recipeModel.js');
const { CameraPipeline } = await d('pipeline/cameraPipeline.js');
const { SimSource } = await d('sources/sim/simSource.js');
const { prepareFrame } = await d('preprocess/frame.js');
const { Metrics } = await d('app/metrics.js');
const { MqttSink } = await d('sinks/mqtt/mqttSink.js');
const { EmbeddedBroker } = await d('sinks/mqtt/embeddedBroker.js');

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
const simOpts = { id: 'bench', width: 256, height: 256, fps: 0, defectRate: 0.25, seed: 3, count: n };

// Raw: the same frames, preprocessed beforehand; only session.run is timed.
const tensors = [];
for await (const f of new SimSource(simOpts, log).frames())
  tensors.push((await prepareFrame(f, spec)).tensor);
for (let i = 0; i < 10; i++) await model.score(tensors[i % tensors.length], 1); // warm-up
const raw = [];
for (const t of tensors) {
  const t0 = performance.now();
  await model.score(t, 1);
  raw.push(performance.now() - t0);
}

// Pipeline: frames paced at ~1/3 of what raw inference could take, so each frame finds the pipeline idle.
const broker = new EmbeddedBroker('127.0.0.1', 0, log);
await broker.start();
const metrics = new Metrics();
const mqtt = new MqttSink(
  {
    url: broker.url,
    prefix: 'bench',
    line: 'b',
    clientId: '',
    username: '',
    password: '',
    passwordFile: '',
    tls: { ca: '', cert: '', key: '', rejectUnauthorized: true },
    statsIntervalSec: 0,
    maxQueued: 100000,
  },
  ['bench'],
  { setRecipe: async () => '', activeRecipe: () => 'r', stats: () => ({}) },
  log,
);
await mqtt.start();
while (!mqtt.ready()) await new Promise((r) => setTimeout(r, 20));
const e2e = [];
const stages = { preprocess: [], inference: [], decision: [], sinks: [] };
const timing = {
  name: 'timing',
  start: async () => {},
  ready: () => true,
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
  ready: () => true,
  stop: async () => {},
  publish: (v) => decided.set(v.resultId, performance.now()),
};
// Well below capacity (inference plus a few ms of preprocessing, times three), so no frame waits for another.
const fps = Math.max(1, Math.floor(1000 / (3 * (pct(raw, 0.5) + 5))));
const source = new SimSource({ ...simOpts, fps }, log);
const p = new CameraPipeline(
  { cameraId: 'bench', queueSize: 4, dropPolicy: 'wait', minRegionArea: 16, maxRegions: 16 },
  source,
  model,
  'r',
  [marker, mqtt, timing],
  metrics,
  log,
);
p.start();
while (p.counts.ok + p.counts.ng < n) await new Promise((r) => setTimeout(r, 50));
await p.stop(Date.now() + 5000);
await mqtt.stop();
await broker.stop();
await model.close();

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
