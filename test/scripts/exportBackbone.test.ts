import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type * as OnnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess, type CliResult } from '../helpers/cli.js';
import { PYTHON, ROOT, SHARED_BACKBONE, SHARED_MODELS } from '../helpers/paths.js';

// onnx-proto is CommonJS; require keeps its namespace shape, the type import keeps it typed.
const { onnx } = createRequire(import.meta.url)('onnx-proto') as typeof OnnxProto;

const SCRIPT = path.join(ROOT, 'scripts', 'export_backbone.py');
const MNV2_WEIGHTS = path.join(SHARED_MODELS, 'mobilenet_v2_imagenet.pth');
const SLOW = 300_000;

// Max |a-b| relative to max |reference|. Measured (torch 1.13 / ORT 1.30, 2-core CPU): our
// mobilenet_v2 export vs the shared model 0 (bit-identical); ORT vs torch reference 5.6e-7..1.2e-6.
// 1e-4 leaves margin for other CPUs' kernels yet any wrong weight, op or level gives O(1).
const REL_TOL = 1e-4;

type RunResult = CliResult;

interface JsonTensor {
  dims: number[];
  data: number[];
}

interface Reference {
  input: JsonTensor;
  outputs: Record<string, JsonTensor>;
}

function runExport(args: string[]): Promise<RunResult> {
  return runProcess(PYTHON, [SCRIPT, ...args], { cwd: ROOT });
}

async function exportOk(args: string[]): Promise<RunResult> {
  const r = await runExport(args);
  // Show the script's stderr when it fails, not just "expected 1 to be 0".
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^export_backbone: .* outputs=.* size=[\d.]+MB .* in [\d.]+s\n$/);
  return r;
}

// mulberry32 + Box-Muller: deterministic standard-normal-ish input, like a normalized image.
function randn(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const th = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

function relDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): { rel: number; maxAbs: number } {
  expect(actual.length).toBe(expected.length);
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
    maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
  }
  // A reference of all zeros would make any comparison vacuous.
  expect(maxAbs).toBeGreaterThan(0);
  return { rel: maxDiff / maxAbs, maxAbs };
}

function metadata(buf: Buffer): Record<string, string> {
  const model = onnx.ModelProto.decode(buf);
  return Object.fromEntries(model.metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
}

function outputShapes(session: ort.InferenceSession): Record<string, ReadonlyArray<number | string>> {
  return Object.fromEntries(session.outputMetadata.map((m) => [m.name, m.isTensor ? m.shape : []] as const));
}

async function run(
  session: ort.InferenceSession,
  data: Float32Array,
  dims: number[],
): Promise<ort.InferenceSession.OnnxValueMapType> {
  return session.run({ input: new ort.Tensor('float32', data, dims) });
}

/** Checks ORT on the exported model against the torch reference the script dumped. */
async function checkAgainstReference(
  modelPath: string,
  refPath: string,
  names: string[],
): Promise<Record<string, number>> {
  const ref = JSON.parse(await readFile(refPath, 'utf8')) as Reference;
  expect(ref.input.dims).toEqual([2, 3, 96, 128]);
  expect(Object.keys(ref.outputs)).toEqual(names);
  const session = await ort.InferenceSession.create(modelPath);
  try {
    const out = await run(session, Float32Array.from(ref.input.data), ref.input.dims);
    const rels: Record<string, number> = {};
    for (const name of names) {
      const expected = ref.outputs[name];
      const stride = strideOf(name);
      expect(expected.dims).toEqual([2, channelsOf(name), 96 / stride, 128 / stride]);
      expect(out[name].dims).toEqual(expected.dims);
      const { rel } = relDiff(out[name].data as Float32Array, expected.data);
      expect(rel, name).toBeLessThan(REL_TOL);
      rels[name] = rel;
    }
    return rels;
  } finally {
    await session.release();
  }
}

function channelsOf(name: string): number {
  const m = /^s\d+_(\d+)ch$/.exec(name);
  if (!m) throw new Error(`not a level name: ${name}`);
  return Number(m[1]);
}

function strideOf(name: string): number {
  const m = /^s(\d+)_\d+ch$/.exec(name);
  if (!m) throw new Error(`not a level name: ${name}`);
  return Number(m[1]);
}

function expectBackboneMetadata(
  meta: Record<string, string>,
  arch: string,
  names: string[],
  weights: string,
): void {
  expect(meta).toMatchObject({
    'inspectd.kind': 'backbone',
    'inspectd.arch': arch,
    'inspectd.outputs': names.join(','),
    'inspectd.strides': names.map(strideOf).join(','),
    'inspectd.mean': '0.485,0.456,0.406',
    'inspectd.std': '0.229,0.224,0.225',
    'inspectd.color': 'rgb',
    'inspectd.weights_sha256': weights,
    'inspectd.exporter': 'scripts/export_backbone.py',
  });
  expect(meta['inspectd.torch_version']).toMatch(/^\d+\.\d+/);
}

function expectDynamicOutputs(session: ort.InferenceSession, names: string[]): void {
  expect(session.inputNames).toEqual(['input']);
  expect(session.outputNames).toEqual(names);
  const shapes = outputShapes(session);
  for (const name of names) {
    const [n, c, h, w] = shapes[name];
    expect(typeof n).toBe('string');
    expect(c).toBe(channelsOf(name));
    expect(typeof h).toBe('string');
    expect(typeof w).toBe('string');
  }
}

function expectCleanFailure(r: RunResult): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).not.toContain('Traceback');
  expect(r.stdout).toBe('');
}

describe('scripts/export_backbone.py', () => {
  let tmp: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'inspectd-export-'));
  });

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it(
    'exports mobilenet_v2 from the shared .pth identically to the shared feature model, plus s16_64ch',
    async () => {
      // s16_64ch is ours (features[10]); the shared model has the other four.
      const names = ['s4_24ch', 's8_32ch', 's16_64ch', 's16_96ch', 's32_320ch'];
      const sharedNames = names.filter((n) => n !== 's16_64ch');
      const out = path.join(tmp, 'mnv2.onnx');
      const ref = path.join(tmp, 'mnv2.json');
      await exportOk([
        '--arch',
        'mobilenet_v2',
        '--weights',
        MNV2_WEIGHTS,
        '--out',
        out,
        '--dump-reference',
        ref,
      ]);

      const buf = await readFile(out);
      const sha = createHash('sha256')
        .update(await readFile(MNV2_WEIGHTS))
        .digest('hex');
      expectBackboneMetadata(metadata(buf), 'mobilenet_v2', names, sha);
      console.info('mobilenet_v2 ORT vs torch, max rel diff:', await checkAgainstReference(out, ref, names));

      const ours = await ort.InferenceSession.create(buf);
      const shared = await ort.InferenceSession.create(SHARED_BACKBONE);
      try {
        expectDynamicOutputs(ours, names);
        const dims = [2, 3, 224, 224];
        const x = randn(2 * 3 * 224 * 224, 1234);
        const a = await run(ours, x, dims);
        const b = await run(shared, x, dims);
        expect(a.s16_64ch.dims).toEqual([2, 64, 14, 14]);
        const rels: Record<string, number> = {};
        for (const name of sharedNames) {
          const s = strideOf(name);
          expect(a[name].dims).toEqual([2, channelsOf(name), 224 / s, 224 / s]);
          expect(a[name].dims).toEqual(b[name].dims);
          const { rel } = relDiff(a[name].data as Float32Array, b[name].data as Float32Array);
          expect(rel, name).toBeLessThan(REL_TOL);
          rels[name] = rel;
        }
        console.info('mobilenet_v2 vs shared model, max rel diff:', rels);
      } finally {
        await ours.release();
        await shared.release();
      }
    },
    SLOW,
  );

  it(
    'exports resnet18 with random weights: matches torch, right names/strides, dynamic N/H/W',
    async () => {
      const names = ['s4_64ch', 's8_128ch', 's16_256ch', 's32_512ch'];
      const out = path.join(tmp, 'r18.onnx');
      const ref = path.join(tmp, 'r18.json');
      await exportOk(['--arch', 'resnet18', '--random-weights', '0', '--out', out, '--dump-reference', ref]);
      expectBackboneMetadata(metadata(await readFile(out)), 'resnet18', names, 'random:0');
      const rels = await checkAgainstReference(out, ref, names);
      console.info('resnet18 ORT vs torch, max rel diff:', rels);

      const session = await ort.InferenceSession.create(out);
      try {
        expectDynamicOutputs(session, names);
        // torch's stride-2 convs/pool (pad 1 or 3) round up, so every level is ceil(size/stride).
        for (const [n, h, w] of [
          [1, 160, 224],
          [3, 97, 130],
        ]) {
          const y = await run(session, randn(n * 3 * h * w, h), [n, 3, h, w]);
          for (const name of names) {
            const s = strideOf(name);
            expect(y[name].dims, `${name} at ${h}x${w}`).toEqual([
              n,
              channelsOf(name),
              Math.ceil(h / s),
              Math.ceil(w / s),
            ]);
          }
        }
      } finally {
        await session.release();
      }

      // Random init is reproducible: same seed, same reference.
      const ref2 = path.join(tmp, 'r18-again.json');
      await exportOk([
        '--arch',
        'resnet18',
        '--random-weights',
        '0',
        '--out',
        path.join(tmp, 'r18-again.onnx'),
        '--dump-reference',
        ref2,
      ]);
      expect(await readFile(ref2, 'utf8')).toBe(await readFile(ref, 'utf8'));
    },
    SLOW,
  );

  it(
    'exports only the requested levels, computing no deeper than needed',
    async () => {
      const out = path.join(tmp, 'r18-partial.onnx');
      await exportOk([
        '--arch',
        'resnet18',
        '--random-weights',
        '0',
        '--levels',
        's16_256ch,s4_64ch',
        '--out',
        out,
      ]);
      const buf = await readFile(out);
      const meta = metadata(buf);
      expect(meta['inspectd.outputs']).toBe('s4_64ch,s16_256ch');
      expect(meta['inspectd.strides']).toBe('4,16');
      // layer4 (the bulk of resnet18's weights) must not be in the graph.
      const inits = onnx.ModelProto.decode(buf).graph?.initializer ?? [];
      const params = inits.reduce((sum, t) => sum + (t.dims ?? []).reduce((p, d) => p * Number(d), 1), 0);
      expect(params).toBeLessThan(3_000_000);
    },
    SLOW,
  );

  it(
    'exports wide_resnet50_2 with random weights and matches torch',
    async () => {
      const names = ['s4_256ch', 's8_512ch', 's16_1024ch', 's32_2048ch'];
      const out = path.join(tmp, 'wrn50.onnx');
      const ref = path.join(tmp, 'wrn50.json');
      try {
        await exportOk([
          '--arch',
          'wide_resnet50_2',
          '--random-weights',
          '0',
          '--out',
          out,
          '--dump-reference',
          ref,
        ]);
        const session = await ort.InferenceSession.create(out);
        try {
          expectDynamicOutputs(session, names);
        } finally {
          await session.release();
        }
        const rels = await checkAgainstReference(out, ref, names);
        console.info('wide_resnet50_2 ORT vs torch, max rel diff:', rels);
      } finally {
        // ~270 MB: do not keep it around for the rest of the file.
        await rm(out, { force: true });
        await rm(ref, { force: true });
      }
    },
    SLOW,
  );

  it(
    'fails clearly (exit 2, no traceback) on bad weights and level names',
    async () => {
      const out = path.join(tmp, 'bad.onnx');

      const missing = path.join(tmp, 'no-such-weights.pth');
      let r = await runExport(['--arch', 'resnet18', '--weights', missing, '--out', out]);
      expectCleanFailure(r);
      expect(r.stderr).toContain(missing);
      expect(r.stderr).toMatch(/not found/);

      r = await runExport(['--arch', 'resnet18', '--weights', MNV2_WEIGHTS, '--out', out]);
      expectCleanFailure(r);
      expect(r.stderr).toContain('does not match --arch resnet18');
      expect(r.stderr).toMatch(/missing keys: conv1\.weight/);
      expect(r.stderr).toMatch(/unexpected keys: features\.0\.0\.weight/);

      r = await runExport([
        '--arch',
        'mobilenet_v2',
        '--random-weights',
        '0',
        '--levels',
        's8_64ch',
        '--out',
        out,
      ]);
      expectCleanFailure(r);
      expect(r.stderr).toContain('s8_64ch');
      expect(r.stderr).toContain('s4_24ch, s8_32ch, s16_64ch, s16_96ch, s32_320ch');

      r = await runExport(['--arch', 'resnet18', '--out', out]);
      expectCleanFailure(r);
      expect(r.stderr).toMatch(/--weights --random-weights is required/);

      expect(existsSync(out)).toBe(false);
    },
    SLOW,
  );
});
