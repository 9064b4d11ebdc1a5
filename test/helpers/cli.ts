import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from './paths.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would; logs are JSON on stderr (not a TTY here); `input` on its stdin. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<CliResult> {
  return runProcess(process.execPath, [CLI, ...args], { env, input });
}

/** Runs a program to completion, collecting its output. */
export function runProcess(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // Without input, stdin is closed at once: the program reads end-of-file, as from /dev/null.
    child.stdin.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The JSON log lines of a CLI run. */
export function logLines(stderr: string): { level: number; msg: string; [k: string]: unknown }[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}

/** `inspectd fit --method gaussian` arguments with the shared MobileNetV2 backbone. */
export function gaussianFitArgs(o: {
  backbone: string;
  layers: string;
  size: number | string;
  images: string;
  out: string;
  extra?: string[];
}): string[] {
  return [
    'fit',
    '--method',
    'gaussian',
    '--backbone',
    o.backbone,
    '--layers',
    o.layers,
    '--size',
    String(o.size),
    '--images',
    o.images,
    '--out',
    o.out,
    ...(o.extra ?? []),
  ];
}

/** `inspectd eval` of a recipe on a dataset, with its JSON report and overlays in a new temporary folder. */
export async function evalWithOutputs(
  recipe: string,
  dataset: string,
): Promise<{ r: CliResult; json: string; overlays: string }> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'inspectd-eval-'));
  const json = path.join(work, 'report.json');
  const overlays = path.join(work, 'overlays');
  const r = await runCli([
    'eval',
    '--recipe',
    recipe,
    '--dataset',
    dataset,
    '--json',
    json,
    '--overlays',
    overlays,
  ]);
  return { r, json, overlays };
}

/** `inspectd fit` of a method whose model a training script wrote, on a small folder (--min-images 4). */
export const trainedFitArgs = (
  method: string,
  model: string,
  images: string,
  out: string,
  extra: string[] = [],
): string[] => [
  'fit',
  '--method',
  method,
  '--model',
  model,
  '--images',
  images,
  '--out',
  out,
  '--min-images',
  '4',
  ...extra,
];
