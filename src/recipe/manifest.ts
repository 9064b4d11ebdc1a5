import { readFile, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { InspectdError, messageOf } from '../core/errors.js';
import type { InputSpec } from '../core/inputSpec.js';
import type { Tiling } from '../core/tiling.js';
import type { Calibration } from '../scoring/calibration.js';

export type { Calibration };

export const MANIFEST_FILE = 'manifest.json';
export const MODEL_FILE = 'model.onnx';
export const MANIFEST_SCHEMA = 1;

export type FittedRule = 'max-good-train' | 'max-good-holdout' | 'max-good-holdout-refit';

/** A recipe folder's description: everything `run` and `eval` need besides the model, and where it came from. */
export interface Manifest {
  schema: number;
  name: string;
  /** The fit method, by its name in the table of fit methods (src/fit/methods.ts). */
  method: string;
  input: InputSpec;
  outputs: { score: string; map: string; mapWidth: number; mapHeight: number };
  model: { file: string; files: string[]; sha256: string; bytes: number; opset: number };
  threshold: {
    value: number;
    /** How the value was set: by `fit` (one of the max-good rules), or by an operator on the line. */
    rule: FittedRule | 'operator';
    margin: number;
    /** When an operator changed it: what `fit` had set. */
    fitted?: { value: number; rule: FittedRule };
  };
  calibration: Calibration;
  params: Record<string, unknown>;
  provenance: {
    tool: string;
    toolVersion: string;
    createdAt: string;
    host: string;
    backbone: { file: string; sha256: string; layers: string[]; metadata: Record<string, string> };
    trainImages: { dir: string; used: number; skipped: { file: string; reason: string }[] };
    /** The good images (names in trainImages.dir) held out of the statistics and scored for the threshold. */
    holdoutImages?: string[];
    timingsSeconds: Record<string, number>;
  };
}

/** Every tile inside the canvas, as many positions as columns and rows (stitching relies on it). */
const tilingFits = (t: Tiling, canvas: { width: number; height: number }): boolean =>
  t.width > 0 &&
  t.height > 0 &&
  t.xs?.length === t.cols &&
  t.ys?.length === t.rows &&
  t.cols > 0 &&
  t.rows > 0 &&
  t.xs.every((x) => Number.isInteger(x) && x >= 0 && x + t.width <= canvas.width) &&
  t.ys.every((y) => Number.isInteger(y) && y >= 0 && y + t.height <= canvas.height);

export async function writeManifest(dir: string, m: Manifest): Promise<void> {
  const file = path.join(dir, MANIFEST_FILE);
  await writeFile(`${file}.tmp`, JSON.stringify(m, null, 2) + '\n');
  await rename(`${file}.tmp`, file);
}

export async function readManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new InspectdError(`recipe ${dir} has no readable ${MANIFEST_FILE} (${messageOf(e)})`, {
      subject: dir,
      fix: 'pass a folder written by `inspectd fit`',
    });
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    throw new InspectdError(`recipe manifest ${file} is not valid JSON: ${messageOf(e)}`, {
      subject: file,
      fix: 'refit the recipe with `inspectd fit`',
    });
  }
  const problems: string[] = [];
  if (m.schema !== MANIFEST_SCHEMA)
    problems.push(`schema is ${String(m.schema)}, this inspectd reads ${MANIFEST_SCHEMA}`);
  if (!m.input || !(m.input.width > 0) || !(m.input.height > 0)) problems.push('input size missing');
  const t = m.input?.tiling;
  if (t && !tilingFits(t, m.input)) problems.push('input.tiling does not fit its tiles on the input size');
  if (!m.model?.file) problems.push('model.file missing');
  if (typeof m.threshold?.value !== 'number' || !Number.isFinite(m.threshold.value))
    problems.push('threshold.value is not a finite number');
  if (problems.length) {
    throw new InspectdError(`recipe manifest ${file} is invalid: ${problems.join('; ')}`, {
      subject: file,
      fix: 'refit the recipe with this version of `inspectd fit`',
    });
  }
  return m;
}
