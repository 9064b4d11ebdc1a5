import path from 'node:path';
import { expect } from 'vitest';
import { runProcess } from './cli.js';
import { PYTHON, ROOT } from './paths.js';

/** Runs scripts/<script> with Debian's torch; fails the test with its stderr unless it exits 0 without a traceback. */
export async function trainScript(script: string, args: string[]): Promise<string> {
  const r = await runProcess(PYTHON, [path.join(ROOT, 'scripts', script), ...args]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).not.toContain('Traceback');
  return r.stderr;
}
