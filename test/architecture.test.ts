import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.js';

/**
 * Which folder of src/ may import which: data flows one way. Stages (sources, sinks, pipeline, fit, eval)
 * never import each other or anything above them; config assembles the settings each kind declares; app is
 * the one composition root; cli calls it all. A new import that breaks this needs a new arrow here, on purpose.
 */
const ALLOWED: Record<string, string[]> = {
  core: [],
  log: ['core'],
  onnx: ['core'],
  decision: ['core'],
  preprocess: ['core', 'log', 'onnx', 'inference'],
  scoring: ['core', 'onnx'],
  inference: ['core', 'log', 'onnx'],
  recipe: ['core', 'log', 'inference', 'onnx', 'preprocess', 'scoring'],
  sources: ['core', 'log', 'preprocess'],
  sinks: ['core', 'log'],
  journal: ['core', 'log'],
  pipeline: ['core', 'log', 'decision', 'preprocess', 'recipe'],
  fit: ['core', 'log', 'onnx', 'inference', 'preprocess', 'recipe', 'scoring'],
  eval: ['core', 'log', 'inference', 'preprocess', 'recipe'],
  config: ['core', 'sources', 'sinks', 'fit', 'eval', 'journal'],
  app: ['core', 'log', 'config', 'inference', 'recipe', 'pipeline', 'sources', 'sinks', 'journal'],
  cli: ['core', 'log', 'config', 'inference', 'recipe', 'fit', 'eval', 'sources', 'app', 'journal'],
};

function* tsFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

describe('architecture', () => {
  it('every import of src/ goes where the layering allows', () => {
    const src = path.join(ROOT, 'src');
    const wrong: string[] = [];
    const folders = new Set<string>();
    for (const file of tsFiles(src)) {
      const from = path.relative(src, file).split(path.sep)[0];
      folders.add(from);
      for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
        const to = path.relative(src, path.resolve(path.dirname(file), m[1])).split(path.sep)[0];
        if (to !== from && !(ALLOWED[from] ?? []).includes(to))
          wrong.push(`${path.relative(ROOT, file)} imports ${m[1]} (${from} -> ${to})`);
      }
    }
    expect(wrong).toEqual([]);
    // Every folder has its row: a new stage is placed on purpose.
    expect([...folders].filter((f) => !f.endsWith('.ts') && !(f in ALLOWED))).toEqual([]);
  });
});
