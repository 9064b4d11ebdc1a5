#!/usr/bin/env node
// Chooses what `fit` does by default on validation data made from training images only. For each category
// under <shared>/datasets, each candidate (method, backbone levels, size) is fitted on train/good with
// --holdout 0.2 (every fifth good image, in name order, stays out of the fit and sets the threshold), then
// measured with `eval --synthetic N` on those held-out images: half stay good, half get synthetic defects
// (texture, cut-and-paste, scratch, dent). No test set is read. Prints one Markdown table (image and pixel
// AUROC, AU-PRO, good flagged and defects caught at the recipe's own threshold, fit time, ms/image, recipe
// size) and the candidate with the best mean image AUROC over the categories (mean pixel AUROC breaks ties).
//
//   node scripts/select-defaults.mjs [--categories magnetic_tile,mpdd_metal_plate] [--candidates NAME,...]
//                                    [--synthetic 200] [--seed 1] [--work DIR] [--out FILE]
//
// Needs npm run build, ../shared (or INSPECTD_SHARED) with the MobileNetV2 ImageNet weights, and
// /usr/bin/python3 with torch (the backbone is exported once into --work by scripts/export_backbone.py).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { root } from './lib/bench.mjs';

const shared = process.env.INSPECTD_SHARED ?? path.resolve(root, '..', 'shared');
const python = process.env.INSPECTD_PYTHON ?? '/usr/bin/python3';

/** The candidates, one row each: what fit is given besides --backbone, --images, --out, --holdout. */
const CANDIDATES = {
  'gaussian s4+s8+s16': ['--method', 'gaussian', '--layers', 's4_24ch,s8_32ch,s16_96ch', '--size', '224'],
  'gaussian s8+s16': ['--method', 'gaussian', '--layers', 's8_32ch,s16_96ch', '--size', '224'],
  'gaussian s16+s16': ['--method', 'gaussian', '--layers', 's16_64ch,s16_96ch', '--size', '224'],
  'nearest-patch s8+s16': ['--method', 'nearest-patch', '--layers', 's8_32ch,s16_96ch', '--size', '224'],
  'nearest-patch s16+s16': ['--method', 'nearest-patch', '--layers', 's16_64ch,s16_96ch', '--size', '224'],
  'nearest-patch s8+s16+s16': [
    '--method',
    'nearest-patch',
    '--layers',
    's8_32ch,s16_64ch,s16_96ch',
    '--size',
    '224',
  ],
};

const { values: args } = parseArgs({
  options: {
    categories: { type: 'string', default: 'magnetic_tile,mpdd_metal_plate' },
    candidates: { type: 'string', default: Object.keys(CANDIDATES).join(',') },
    synthetic: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    work: { type: 'string', default: path.join(root, 'var', 'select') },
    out: { type: 'string' },
  },
});
const categories = args.categories.split(',').filter(Boolean);
const candidates = args.candidates.split(',').filter(Boolean);
const unknown = candidates.filter((c) => !(c in CANDIDATES));
if (unknown.length)
  fail(`unknown candidate(s) ${unknown.join(', ')}; known: ${Object.keys(CANDIDATES).join(', ')}`);
for (const c of categories)
  if (!existsSync(path.join(shared, 'datasets', c, 'train', 'good')))
    fail(
      `${path.join(shared, 'datasets', c, 'train', 'good')} is missing: set INSPECTD_SHARED or --categories`,
    );
mkdirSync(args.work, { recursive: true });

const backbone = path.join(args.work, 'mobilenet_v2_levels.onnx');
if (!existsSync(backbone)) {
  note(`exporting the MobileNetV2 levels to ${backbone}`);
  execFileSync(
    python,
    [
      path.join(root, 'scripts', 'export_backbone.py'),
      '--arch',
      'mobilenet_v2',
      '--weights',
      path.join(shared, 'models', 'mobilenet_v2_imagenet.pth'),
      '--out',
      backbone,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

const rows = [];
for (const category of categories) {
  for (const name of candidates) {
    const dir = path.join(args.work, category, name.replace(/[^a-z0-9]+/gi, '-'));
    rmSync(dir, { recursive: true, force: true });
    const t0 = performance.now();
    run('fit', [
      ...CANDIDATES[name],
      '--backbone',
      backbone,
      '--images',
      path.join(shared, 'datasets', category, 'train', 'good'),
      '--out',
      dir,
      '--holdout',
      '0.2',
    ]);
    const fitSeconds = (performance.now() - t0) / 1000;
    const json = `${dir}.eval.json`;
    run('eval', ['--recipe', dir, '--synthetic', args.synthetic, '--seed', args.seed, '--json', json]);
    const r = JSON.parse(readFileSync(json, 'utf8'));
    const { tp, fn, fp, tn } = r.confusion;
    rows.push({
      category,
      name,
      image: r.image_auroc * 100,
      pixel: r.pixel_auroc * 100,
      pro: r.au_pro * 100,
      goodFlagged: `${fp}/${fp + tn}`,
      caught: `${tp}/${tp + fn}`,
      fitSeconds,
      ms: r.timings.modelMsPerImage,
      mib: folderBytes(dir) / 2 ** 20,
    });
    note(`${category} ${name}: image ${rows.at(-1).image.toFixed(2)}, pixel ${rows.at(-1).pixel.toFixed(2)}`);
  }
}

const mean = (name, key) => {
  const xs = rows.filter((r) => r.name === name).map((r) => r[key]);
  return xs.reduce((s, x) => s + x, 0) / xs.length;
};
const ranked = [...candidates].sort(
  (a, b) => mean(b, 'image') - mean(a, 'image') || mean(b, 'pixel') - mean(a, 'pixel'),
);
const lines = [
  `Validation: --holdout 0.2 of train/good, eval --synthetic ${args.synthetic} --seed ${args.seed}; no test set read.`,
  '',
  '| category | candidate | image AUROC | pixel AUROC | AU-PRO | good flagged | defects caught | fit, s | ms/image | recipe MiB |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.category} | ${r.name} | ${r.image.toFixed(2)} | ${r.pixel.toFixed(2)} | ${r.pro.toFixed(2)} | ` +
      `${r.goodFlagged} | ${r.caught} | ${r.fitSeconds.toFixed(0)} | ${r.ms.toFixed(1)} | ${r.mib.toFixed(1)} |`,
  ),
  '',
  '| candidate | mean image AUROC | mean pixel AUROC |',
  '|---|---:|---:|',
  ...ranked.map((n) => `| ${n} | ${mean(n, 'image').toFixed(2)} | ${mean(n, 'pixel').toFixed(2)} |`),
  '',
  `chosen: ${ranked[0]}`,
];
const text = lines.join('\n') + '\n';
process.stdout.write(text);
if (args.out) writeFileSync(args.out, text);

function run(command, rest) {
  const r = spawnSync(process.execPath, [path.join(root, 'dist', 'cli', 'main.js'), command, ...rest], {
    encoding: 'utf8',
    env: { ...process.env, INSPECTD_LOG_LEVEL: 'warn' },
  });
  if (r.status !== 0) fail(`inspectd ${command} ${rest.join(' ')} failed (exit ${r.status}):\n${r.stderr}`);
}

function folderBytes(dir) {
  return readdirSync(dir).reduce((s, f) => s + statSync(path.join(dir, f)).size, 0);
}

function note(msg) {
  process.stderr.write(`select-defaults: ${msg}\n`);
}

function fail(msg) {
  process.stderr.write(`select-defaults: ${msg}\n`);
  process.exit(1);
}
