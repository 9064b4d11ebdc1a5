import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { int, nonEmpty, text } from '../core/settings.js';
import { evaluateRecipe } from '../eval/evaluate.js';
import { syntheticBases, writeSyntheticSet } from '../eval/syntheticSet.js';
import { writeOverlays } from '../eval/overlays.js';
import { formatTable, toJsonReport } from '../eval/report.js';
import { readManifest } from '../recipe/manifest.js';
import { ensureWritableDir } from '../recipe/outputDir.js';
import { commandContext, commandUsage, readCommandFlags, usageError } from './common.js';
import { flags, withDefaults } from '../core/flags.js';

const EVAL_FLAGS = flags({
  recipe: {
    doc: 'recipe folder written by `inspectd fit`',
    format: nonEmpty('a folder'),
    required: true,
    value: 'DIR',
  },
  dataset: { doc: 'dataset in MVTec layout', format: nonEmpty('a folder'), value: 'DIR' },
  synthetic: {
    doc: "instead of --dataset: N synthetic defects (texture, cut-and-paste, scratch, dent) on the recipe's own good images; half of them stay good",
    format: int(1, 100000),
    value: 'N',
  },
  images: {
    doc: "with --synthetic: the good images (default: the recipe's held-out images if it was fitted with --holdout, else its training folder)",
    format: nonEmpty('a folder'),
    value: 'DIR',
  },
  keep: {
    doc: 'with --synthetic: write the set here (MVTec layout) and keep it, e.g. to train on it',
    format: nonEmpty('a folder'),
    value: 'DIR',
  },
  seed: {
    doc: 'with --synthetic: which images and defects (same seed, same set)',
    format: int(0),
    value: 'S',
  },
  json: {
    doc: 'also write the report as JSON (metrics as fractions in [0,1])',
    format: text(),
    value: 'FILE',
  },
  overlays: {
    doc: 'write PNGs of the worst misses and false alarms (image | heatmap + ground-truth outline)',
    format: text(),
    value: 'DIR',
  },
  batchSize: { doc: 'images per model call', format: int(1, 256), config: 'eval.batchSize', value: 'B' },
  config: { doc: 'configuration file', format: text(), value: 'FILE' },
});

export const EVAL_USAGE = commandUsage(
  'eval',
  `  Scores the test images of a dataset in MVTec layout (test/good, test/<defect>, ground_truth/<defect>/<stem>_mask.png)
  and prints image AUROC, pixel AUROC, AU-PRO, F1 and the confusion matrix at the recipe's threshold, per defect type.
  With --synthetic N instead of --dataset, the set is made from the category's own good images with synthetic
  defects: a validation set that needs no defective parts.`,
  EVAL_FLAGS,
);

export async function evalCommand(argv: string[]): Promise<number> {
  const given = readCommandFlags(argv, EVAL_FLAGS, EVAL_USAGE);
  const { config, log, session } = commandContext(given.config);
  const v = withDefaults(EVAL_FLAGS, given, config);
  if ((v.dataset === undefined) === (v.synthetic === undefined)) {
    throw usageError(
      [
        v.dataset === undefined
          ? 'eval needs --dataset DIR or --synthetic N'
          : '--dataset and --synthetic exclude each other',
      ],
      EVAL_USAGE,
    );
  }
  for (const k of ['images', 'keep', 'seed'] as const)
    if (v.synthetic === undefined && v[k] !== undefined)
      throw usageError([`--${k} goes with --synthetic`], EVAL_USAGE);
  const manifest = await readManifest(v.recipe);
  // Check output places before the long run, not after it.
  if (v.json) await ensureWritableDir(path.dirname(path.resolve(v.json)), 'JSON report folder');
  if (v.overlays) await ensureWritableDir(v.overlays, 'overlay folder');
  let dataset = v.dataset;
  if (v.synthetic !== undefined) {
    const out = v.keep ?? (await mkdtemp(path.join(os.tmpdir(), 'inspectd-synthetic-')));
    if (v.keep) await ensureWritableDir(out, 'synthetic set folder');
    await writeSyntheticSet({
      images: await syntheticBases(manifest, v.images, log),
      count: v.synthetic,
      seed: v.seed ?? 1,
      out,
      log,
    });
    dataset = out;
  }
  const result = await evaluateRecipe(v.recipe, dataset!, { batchSize: v.batchSize, session, log }).finally(
    async () => {
      if (v.synthetic !== undefined && !v.keep) await rm(dataset!, { recursive: true, force: true });
    },
  );
  process.stdout.write(`${formatTable(result)}\n`);
  if (v.json) {
    await writeFile(v.json, JSON.stringify(toJsonReport(result), null, 2) + '\n');
    log.info({ file: v.json }, `JSON report written to ${v.json}`);
  }
  if (v.overlays) {
    const files = await writeOverlays(
      result,
      v.overlays,
      config.eval.overlayCount,
      manifest.calibration.min,
      { width: manifest.outputs.mapWidth, height: manifest.outputs.mapHeight },
    );
    log.info({ dir: v.overlays, count: files.length }, `${files.length} overlays written to ${v.overlays}`);
  }
  return 0;
}
