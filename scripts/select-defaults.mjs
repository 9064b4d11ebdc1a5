#!/usr/bin/env node
// Chooses what `fit` does by default on validation data made from training images only, and with --test
// reports the same recipes on the test sets afterwards (the aims table of docs/recipes.md, one command).
//
// Validation: for each category under <shared>/datasets, each candidate (method, backbone levels, size) is
// fitted on train/good with --holdout 0.2 (every fifth good image, in name order, stays out of the fit and
// sets the threshold; a trained candidate's training script leaves the same images out), then measured with
// `eval --synthetic N` on those held-out images: half stay good, half get synthetic defects (texture,
// cut-and-paste, scratch, dent). No test set is read for it. Prints one Markdown table (image and pixel AUROC,
// AU-PRO, good flagged and defects caught at the recipe's own threshold, training and fit time, ms/image,
// recipe size) and the candidate with the best mean image AUROC over the categories (mean pixel AUROC breaks
// ties).
//
// --test: then each candidate is fitted as a user would (its flags and --holdout 0.2, with --refit where the
// method learns from the images) and measured with `eval --dataset` on the category's test set: the final
// report, read after the choice above, never used for it.
//
//   node scripts/select-defaults.mjs [--categories magnetic_tile,mpdd_metal_plate] [--candidates NAME,...]
//                                    [--synthetic 200] [--seed 1] [--work DIR] [--out FILE] [--test]
//                                    [--train-iterations N]   (a quick check of the command, not a result)
//
// Needs npm run build, ../shared (or INSPECTD_SHARED) with the MobileNetV2 ImageNet weights, and
// /usr/bin/python3 with torch (the backbone is exported once into --work by scripts/export_backbone.py; the
// fusion network is trained by scripts/train_fusion.py, about 10 minutes per category here).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { root } from './lib/bench.mjs';

const shared = process.env.INSPECTD_SHARED ?? path.resolve(root, '..', 'shared');
const python = process.env.INSPECTD_PYTHON ?? '/usr/bin/python3';
const weights = path.join(shared, 'models', 'mobilenet_v2_imagenet.pth');
const HOLDOUT = '0.2';

/** Trains the S002 fusion network on a category's good images, leaving out the images fit will hold out. */
const fusionTraining = {
  script: 'train_fusion.py',
  args: ['--backbone-weights', weights, '--size', '224', '--iterations', '800', '--holdout', HOLDOUT],
};

/** S003: fine-tunes MobileNetV2 on a jigsaw task with MFCSAM fusion; its model is a feature backbone. */
const jigsawTraining = {
  script: 'train_jigsaw.py',
  args: ['--backbone-weights', weights, '--size', '240', '--iterations', '300', '--holdout', HOLDOUT],
  as: '--backbone',
};

/** S004 on features: psi reconstructs the frozen ImageNet s8 and s16 levels (train_hybrid.py --target features). */
const hybridTraining = {
  script: 'train_hybrid.py',
  args: ['--backbone-weights', weights, '--size', '224', '--iterations', '2000', '--holdout', HOLDOUT],
};

/** S000 on features: the multi-level autoencoder encodes and reconstructs the same levels (on their 32x32 grid). */
const multilevelTraining = {
  script: 'train_multilevel.py',
  args: [
    ...['--target', 'features', '--backbone-weights', weights, '--size', '256'],
    ...['--iterations', '2000', '--holdout', HOLDOUT],
  ],
};

/**
 * The candidates, one row each: what fit is given besides --backbone or --model, --images, --out, --holdout;
 * `train`: the training script run first (its model becomes --model); `refit`: whether the final fit learns
 * from every image again (methods whose statistics come from the images).
 */
const feature = (method, layers) => ({
  fit: ['--method', method, '--layers', layers, '--size', '224'],
  refit: true,
});
const CANDIDATES = {
  'gaussian s4+s8+s16': feature('gaussian', 's4_24ch,s8_32ch,s16_96ch'),
  'gaussian s8+s16': feature('gaussian', 's8_32ch,s16_96ch'),
  'gaussian s16+s16': feature('gaussian', 's16_64ch,s16_96ch'),
  'nearest-patch s8+s16': feature('nearest-patch', 's8_32ch,s16_96ch'),
  'nearest-patch s16+s16': feature('nearest-patch', 's16_64ch,s16_96ch'),
  'nearest-patch s8+s16+s16': feature('nearest-patch', 's8_32ch,s16_64ch,s16_96ch'),
  'fusion score': { train: fusionTraining, fit: ['--method', 'fusion', '--map', 'score'], refit: false },
  'fusion feature': { train: fusionTraining, fit: ['--method', 'fusion', '--map', 'feature'], refit: false },
  'jigsaw gaussian': { train: jigsawTraining, ...feature('gaussian', 'mfcsam_152ch') },
  'jigsaw nearest-patch': { train: jigsawTraining, ...feature('nearest-patch', 'mfcsam_152ch') },
  'hybrid features': { train: hybridTraining, fit: ['--method', 'hybrid'], refit: false },
  'multilevel features': { train: multilevelTraining, fit: ['--method', 'multilevel'], refit: false },
};

const { values: args } = parseArgs({
  options: {
    categories: { type: 'string', default: 'magnetic_tile,mpdd_metal_plate' },
    candidates: { type: 'string', default: Object.keys(CANDIDATES).join(',') },
    synthetic: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    work: { type: 'string', default: path.join(root, 'var', 'select') },
    out: { type: 'string' },
    test: { type: 'boolean', default: false },
    'train-iterations': { type: 'string' },
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
const testRows = [];
for (const category of categories) {
  const good = path.join(shared, 'datasets', category, 'train', 'good');
  const models = new Map(); // one training per script and category, shared by the candidates that use it
  for (const name of candidates) {
    const c = CANDIDATES[name];
    const dir = path.join(args.work, category, name.replace(/[^a-z0-9]+/gi, '-'));
    let trainSeconds = 0;
    let source = ['--backbone', backbone];
    if (c.train) {
      const key = JSON.stringify(c.train);
      if (!models.has(key)) models.set(key, train(category, good, c.train));
      ({ seconds: trainSeconds } = models.get(key));
      source = [c.train.as ?? '--model', models.get(key).model];
    }
    const fitted = fitAndMeasure(
      category,
      name,
      `${dir}-validation`,
      [...c.fit, ...source, '--images', good],
      ['--synthetic', args.synthetic, '--seed', args.seed],
    );
    rows.push({ ...fitted, trainSeconds });
    note(
      `${category} ${name}: validation image ${fitted.image.toFixed(2)}, pixel ${fitted.pixel.toFixed(2)}`,
    );
    if (args.test) {
      const final = fitAndMeasure(
        category,
        name,
        `${dir}-final`,
        [...c.fit, ...source, '--images', good, ...(c.refit ? ['--refit'] : [])],
        ['--dataset', path.join(shared, 'datasets', category)],
      );
      testRows.push({ ...final, trainSeconds });
      note(`${category} ${name}: test image ${final.image.toFixed(2)}, pixel ${final.pixel.toFixed(2)}`);
    }
  }
}

/** Trains a candidate's model into the work folder; its wall time is the training time of the table. */
function train(category, good, t) {
  const model = path.join(args.work, category, `${path.basename(t.script, '.py')}.onnx`);
  rmSync(`${model}.work`, { recursive: true, force: true });
  note(`${category}: training ${t.script} (${t.args.join(' ')})`);
  const t0 = performance.now();
  const quick = args['train-iterations'] ? ['--iterations', args['train-iterations']] : [];
  const r = spawnSync(
    python,
    [path.join(root, 'scripts', t.script), '--images', good, '--out', model, ...t.args, ...quick],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) fail(`${t.script} failed (exit ${r.status}):\n${r.stderr}`);
  return { model, seconds: (performance.now() - t0) / 1000 };
}

/** fit with --holdout 0.2 into dir, then eval with `evalArgs`: one row of a table. */
function fitAndMeasure(category, name, dir, fitArgs, evalArgs) {
  rmSync(dir, { recursive: true, force: true });
  const t0 = performance.now();
  run('fit', [...fitArgs, '--out', dir, '--holdout', HOLDOUT]);
  const fitSeconds = (performance.now() - t0) / 1000;
  const json = `${dir}.eval.json`;
  run('eval', ['--recipe', dir, ...evalArgs, '--json', json]);
  const r = JSON.parse(readFileSync(json, 'utf8'));
  const { tp, fn, fp, tn } = r.confusion;
  // The kinds no candidate trains on (train_fusion.py: texture, cutpaste, confetti; train_jigsaw.py: texture;
  // train_hybrid.py: none, it sees good images only).
  const unseen = ['synthetic_scratch', 'synthetic_dent'].map((t) => r.per_type[t]?.image_auroc);
  return {
    unseen: unseen.every((v) => v !== undefined) ? ((unseen[0] + unseen[1]) / 2) * 100 : undefined,
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
  };
}

const mean = (name, key) => {
  const xs = rows.filter((r) => r.name === name).map((r) => r[key]);
  return xs.reduce((s, x) => s + x, 0) / xs.length;
};
const ranked = [...candidates].sort(
  (a, b) => mean(b, 'image') - mean(a, 'image') || mean(b, 'pixel') - mean(a, 'pixel'),
);
/** A Markdown table of rows; `unseen`: with the image AUROC on the synthetic kinds no candidate trains on. */
const table = (rs, unseen) => [
  `| category | candidate | image AUROC |${unseen ? ' on scratches, dents |' : ''} pixel AUROC | AU-PRO | good flagged | defects caught | train, s | fit, s | ms/image | recipe MiB |`,
  `|---|---|---:|${unseen ? '---:|' : ''}---:|---:|---:|---:|---:|---:|---:|---:|`,
  ...rs.map(
    (r) =>
      `| ${r.category} | ${r.name} | ${r.image.toFixed(2)} |${unseen ? ` ${r.unseen?.toFixed(2) ?? '-'} |` : ''} ` +
      `${r.pixel.toFixed(2)} | ${r.pro.toFixed(2)} | ${r.goodFlagged} | ${r.caught} | ` +
      `${r.trainSeconds ? r.trainSeconds.toFixed(0) : '-'} | ${r.fitSeconds.toFixed(0)} | ${r.ms.toFixed(1)} | ` +
      `${r.mib.toFixed(1)} |`,
  ),
];
const lines = [
  `Validation: --holdout ${HOLDOUT} of train/good, eval --synthetic ${args.synthetic} --seed ${args.seed}; no test set read.`,
  '',
  ...table(rows, true),
  '',
  '| candidate | mean image AUROC | on scratches, dents | mean pixel AUROC |',
  '|---|---:|---:|---:|',
  ...ranked.map(
    (n) =>
      `| ${n} | ${mean(n, 'image').toFixed(2)} | ${mean(n, 'unseen').toFixed(2)} | ${mean(n, 'pixel').toFixed(2)} |`,
  ),
  '',
  `chosen: ${ranked[0]}`,
  ...(args.test
    ? [
        '',
        `Test sets (the final report, after the choice): fit on train/good with --holdout ${HOLDOUT} (and --refit where the method learns from the images), eval --dataset.`,
        '',
        ...table(testRows, false),
      ]
    : []),
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
