#!/usr/bin/env node
// Throughput and latency of each execution provider on real recipes, as one Markdown table (docs/gpu.md
// "Measured"). Per provider (cuda, webgpu, then cpu as the reference; one skipped says why in its row), per
// recipe (the demo, and a MobileNetV2 Gaussian recipe fitted on the fly), per frame size, per batch size:
// camera frames as 8-bit RGB, the way the daemon feeds them (the graph resizes and normalizes on the device),
// warmed up first; frames/s and the p50 and p99 of one batch's latency. Run it through scripts/gpu-check.sh.
//
//   node scripts/gpu-check.mjs [--quick] [--batches 1,8,32] [--providers cuda,webgpu,cpu] [--recipes demo,mobilenet]
//                              [--frames recipe,1920x1200] [--mobilenet-recipe DIR] [--out FILE]
//   --quick   few iterations, a 32-image fit, batches above 8 skipped on a software renderer: the table in
//           under two minutes on a CPU-only box (lavapipe is slow)
//   --frames  frame sizes fed to each recipe: "recipe" (its own input size, no resize) and/or WxH camera frames
//           that the graph resizes (default: recipe)
//   --mobilenet-recipe  use this fitted MobileNetV2 recipe instead of fitting one (a slow box, or no images)
//   --out     also write the table (with its header lines) to FILE
import { execFileSync, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.INSPECTD_SHARED ?? path.resolve(root, '..', 'shared');
const d = (p) => import(path.join(root, 'dist', p));
const { RecipeModel } = await d('recipe/recipeModel.js');
const { SimSource } = await d('sources/sim/simSource.js');
const { providerUnavailable, PROVIDER_NAMES } = await d('inference/session.js');
const { providerKinds, thisHost } = await d('inference/providers.js');

const USAGE = readUsage();
let args;
try {
  args = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      batches: { type: 'string', default: '1,8,32' },
      providers: { type: 'string', default: 'cuda,webgpu,cpu' },
      recipes: { type: 'string', default: 'demo,mobilenet' },
      frames: { type: 'string', default: 'recipe' },
      'mobilenet-recipe': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (e) {
  fail(`${e.message}\n\n${USAGE}`, 2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const batches = listArg(
  '--batches',
  args.batches,
  (b) => /^\d+$/.test(b) && +b >= 1 && +b <= 256,
  'integers 1-256',
).map(Number);
const providers = listArg(
  '--providers',
  args.providers,
  (p) => PROVIDER_NAMES.includes(p),
  PROVIDER_NAMES.join(', '),
);
const recipes = listArg(
  '--recipes',
  args.recipes,
  (r) => ['demo', 'mobilenet'].includes(r),
  'demo, mobilenet',
);
const frameSizes = listArg(
  '--frames',
  args.frames,
  (f) => f === 'recipe' || /^\d{1,5}x\d{1,5}$/.test(f),
  'recipe or WxH, e.g. 1920x1200',
);
// cpu is the reference every other row is read against: always measured, last.
const order = [...providers.filter((p) => p !== 'cpu'), 'cpu'];
// At least `min` runs and `seconds` of them: a fast row gets many runs for its p99, a slow one (a big batch of
// camera frames on the CPU) stays within seconds.
const iterations = args.quick ? { warm: 1, min: 3, seconds: 0 } : { warm: 3, min: 10, seconds: 3 };
const log = pino({ level: 'silent' });

const tmp = mkdtempSync(path.join(os.tmpdir(), 'inspectd-gpu-check-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const recipeDirs = {};
for (const r of recipes)
  recipeDirs[r] =
    r === 'demo'
      ? path.join(root, 'models', 'demo')
      : args['mobilenet-recipe']
        ? path.resolve(args['mobilenet-recipe'])
        : fitMobilenet();

const rows = [];
for (const provider of order) {
  const why = providerUnavailable(provider);
  if (why) {
    rows.push({ provider, recipe: recipes.join(', '), note: `skipped: ${why}` });
    continue;
  }
  for (const r of recipes) {
    let model;
    try {
      model = await RecipeModel.load(recipeDirs[r], { providers: [provider], threads: 0 }, log);
    } catch (e) {
      // The error lists "provider: reason" under its first line; only this provider was asked.
      const reason = e.message.split('\n').slice(1).join(' ').trim().replace(`${provider}: `, '');
      rows.push({ provider, recipe: r, note: `failed: ${reason || e.message}` });
      continue;
    }
    const input = model.manifest.input;
    const software = providerKinds[provider].software?.(thisHost());
    for (const size of frameSizes) {
      const [width, height] = size === 'recipe' ? [input.width, input.height] : size.split('x').map(Number);
      const frame = `${width}x${height}${size === 'recipe' ? '' : ` → ${input.width}x${input.height}`}`;
      const frames = await simFrames(width, height, Math.max(...batches));
      for (const n of batches) {
        // A software renderer needs seconds per large batch: --quick keeps to what shows the trend.
        if (args.quick && software && n > 8) {
          rows.push({
            provider,
            recipe: r,
            frame,
            batch: n,
            note: `not run with --quick on ${software} (too slow)`,
          });
          continue;
        }
        const t = await time(model, pack(frames, n, width, height));
        rows.push({ provider, recipe: r, frame, batch: n, ...t, note: software ?? '' });
        process.stderr.write(
          `gpu-check: ${provider} ${r} ${frame} batch ${n}: ${t.fps.toFixed(1)} frames/s\n`,
        );
      }
    }
    await model.close();
  }
}

const header = [
  `GPU: ${gpuName()}`,
  `CPU: ${os.cpus()[0]?.model ?? 'unknown'} x ${os.cpus().length}`,
  `onnxruntime-node ${ortVersion()}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
  args.quick
    ? '--quick: 1 warm-up and 3 timed runs per row: indicative only'
    : `per row: ${iterations.warm} warm-up runs, then timed runs for at least ${iterations.min} runs and ${iterations.seconds} s`,
  '',
];
const table = [
  '| provider | recipe | frame | batch | frames/s | p50 ms/batch | p99 ms/batch | note |',
  '|---|---|---|---:|---:|---:|---:|---|',
  ...rows.map((r) => {
    const measured =
      r.fps === undefined ? ['', '', ''] : [r.fps.toFixed(1), r.p50.toFixed(2), r.p99.toFixed(2)];
    return `| ${[r.provider, r.recipe, r.frame ?? '', r.batch ?? '', ...measured, cell(r.note)].join(' | ')} |`;
  }),
];
const text = [...header, ...table].join('\n') + '\n';
process.stdout.write(text);
if (args.out) writeFileSync(args.out, text);

// ---------------------------------------------------------------- pieces

/** Warm-up runs, then timed runs until both the minimum count and the minimum time are reached. */
async function time(model, batch) {
  for (let i = 0; i < iterations.warm; i++) await model.score(batch);
  const ms = [];
  const start = performance.now();
  while (
    ms.length < iterations.min ||
    (performance.now() - start < iterations.seconds * 1000 && ms.length < 5000)
  ) {
    const t0 = performance.now();
    await model.score(batch);
    ms.push(performance.now() - t0);
  }
  const sorted = [...ms].sort((a, b) => a - b);
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  const total = ms.reduce((s, x) => s + x, 0);
  return { fps: (batch.n * ms.length * 1000) / total, p50: q(0.5), p99: q(0.99) };
}

/** Distinct sim frames (defects in half), rendered at the recipe's size so only inference is measured. */
async function simFrames(width, height, count) {
  const out = [];
  const source = new SimSource({
    id: 'gpu-check',
    options: { width, height, fps: 0, defectRate: 0.5, seed: 3, count: Math.min(count, 16) },
    log,
  });
  for await (const f of source.frames()) out.push(f.data);
  await source.close();
  return out;
}

function pack(frames, n, width, height) {
  const size = width * height * 3;
  const data = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) data.set(frames[i % frames.length], i * size);
  return { data, n, height, width, channels: 3 };
}

/** The MobileNetV2 Gaussian recipe at 224, fitted on magnetic-tile good images (32 of them with --quick). */
function fitMobilenet() {
  const backbone = path.join(shared, 'models', 'mobilenet_v2_features.onnx');
  let images = path.join(shared, 'datasets', 'magnetic_tile', 'train', 'good');
  if (args.quick) {
    const subset = path.join(tmp, 'good');
    mkdirSync(subset);
    for (const f of readdirSync(images).sort().slice(0, 32))
      symlinkSync(path.join(images, f), path.join(subset, f));
    images = subset;
  }
  const out = path.join(tmp, 'mobilenet');
  process.stderr.write(`gpu-check: fitting the MobileNetV2 recipe from ${images} (once)\n`);
  const r = spawnSync(
    process.execPath,
    [
      path.join(root, 'dist', 'cli', 'main.js'),
      'fit',
      '--method',
      'gaussian',
      '--backbone',
      backbone,
      '--layers',
      's4_24ch,s8_32ch,s16_96ch',
      '--size',
      '224',
      '--images',
      images,
      '--out',
      out,
    ],
    { encoding: 'utf8', env: { ...process.env, INSPECTD_LOG_LEVEL: 'warn' } },
  );
  if (r.status !== 0) fail(`the MobileNetV2 fit failed (exit ${r.status}):\n${r.stderr}`, 1);
  return out;
}

function gpuName() {
  try {
    return execFileSync(
      'nvidia-smi',
      ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'],
      {
        encoding: 'utf8',
      },
    )
      .trim()
      .replace(/\n/g, '; ');
  } catch {
    return 'none found (nvidia-smi is not here)';
  }
}

function ortVersion() {
  return createRequire(path.join(root, 'package.json'))('onnxruntime-node/package.json').version;
}

function listArg(flag, value, ok, allowed) {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = items.filter((x) => !ok(x));
  if (items.length === 0 || bad.length)
    fail(`${flag} ${value}: ${bad.join(', ') || 'empty'} not allowed; use ${allowed}`, 2);
  return items;
}

function cell(s) {
  return String(s).replace(/\|/g, '\\|');
}

/** The comment at the top of this file, which is the usage. */
function readUsage() {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8')
    .split('\n')
    .slice(1);
  return lines
    .slice(
      0,
      lines.findIndex((l) => !l.startsWith('//')),
    )
    .map((l) => l.replace(/^\/\/ ?/, ''))
    .join('\n');
}

function fail(msg, code) {
  process.stderr.write(`gpu-check: ${msg}\n`);
  process.exit(code);
}
