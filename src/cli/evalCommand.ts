import { writeFile } from 'node:fs/promises';
import { evaluateRecipe } from '../eval/evaluate.js';
import { writeOverlays } from '../eval/overlays.js';
import { formatTable, toJsonReport } from '../eval/report.js';
import { readManifest } from '../recipe/manifest.js';
import { ensureWritableDir } from '../recipe/outputDir.js';
import { commandContext, intOption, parseCommandArgs, requireOptions } from './common.js';
import path from 'node:path';

export const EVAL_USAGE = `usage: inspectd eval --recipe DIR --dataset DIR [--json FILE] [--overlays DIR] [--batch-size B] [--config FILE]

  Scores the test images of a dataset in MVTec layout (test/good, test/<defect>, ground_truth/<defect>/<stem>_mask.png)
  and prints image AUROC, pixel AUROC, AU-PRO, F1 and the confusion matrix at the recipe's threshold, per defect type.
  --json      also write the report as JSON (metrics as fractions in [0,1])
  --overlays  write PNGs of the worst misses and false alarms (image | heatmap + ground-truth outline)`;

export async function evalCommand(argv: string[]): Promise<number> {
  const v = parseCommandArgs(
    argv,
    {
      recipe: { type: 'string' },
      dataset: { type: 'string' },
      json: { type: 'string' },
      overlays: { type: 'string' },
      'batch-size': { type: 'string' },
      config: { type: 'string' },
    },
    EVAL_USAGE,
  );
  requireOptions(v, ['recipe', 'dataset'], EVAL_USAGE);
  const { config, log, session } = commandContext(v.config as string | undefined);
  const recipe = String(v.recipe);
  const manifest = await readManifest(recipe);
  // Check output places before the long run, not after it.
  if (v.json) await ensureWritableDir(path.dirname(path.resolve(String(v.json))), 'JSON report folder');
  if (v.overlays) await ensureWritableDir(String(v.overlays), 'overlay folder');
  const result = await evaluateRecipe(recipe, String(v.dataset), {
    batchSize: intOption(v, 'batch-size', config.eval.batchSize, 1, 256),
    session,
    log,
  });
  process.stdout.write(`${formatTable(result)}\n`);
  if (v.json) {
    await writeFile(String(v.json), JSON.stringify(toJsonReport(result), null, 2) + '\n');
    log.info({ file: v.json }, `JSON report written to ${String(v.json)}`);
  }
  if (v.overlays) {
    const files = await writeOverlays(
      result,
      String(v.overlays),
      config.eval.overlayCount,
      manifest.calibration.min,
      { width: manifest.outputs.mapWidth, height: manifest.outputs.mapHeight },
    );
    log.info(
      { dir: v.overlays, count: files.length },
      `${files.length} overlays written to ${String(v.overlays)}`,
    );
  }
  return 0;
}
