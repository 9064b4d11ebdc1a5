import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SHARED = process.env.INSPECTD_SHARED ?? path.resolve(ROOT, '..', 'shared');
export const DATASETS = path.join(SHARED, 'datasets');
export const SHARED_MODELS = path.join(SHARED, 'models');
export const SHARED_BACKBONE = path.join(SHARED_MODELS, 'mobilenet_v2_features.onnx');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
/** Debian's python3 has torch; the python3 first on PATH may not. */
export const PYTHON = process.env.INSPECTD_PYTHON ?? '/usr/bin/python3';
