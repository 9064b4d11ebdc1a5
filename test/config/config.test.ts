import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configReference, loadConfig } from '../../src/config/load.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { ROOT } from '../helpers/paths.js';

const write = (obj: unknown): string => {
  const f = path.join(tempDir('cfg'), 'c.json');
  writeFileSync(f, typeof obj === 'string' ? obj : JSON.stringify(obj));
  return f;
};

describe('configuration', () => {
  it('config/default.json is valid and equals the schema defaults', async () => {
    const r = await runCli(['check-config', path.join(ROOT, 'config', 'default.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/OK/);
    expect(loadConfig(path.join(ROOT, 'config', 'default.json'), {})).toEqual(loadConfig(undefined, {}));
  });

  it('check-config lists every problem at once: key, value, what is allowed', async () => {
    const f = write({
      log: { level: 'loud' },
      inference: { providers: ['tpu'], threads: -1 },
      fit: { eps: 0, batchSize: 0 },
      camras: [],
    });
    const r = await runCli(['check-config', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has 6 problem\(s\)/);
    expect(r.stderr).toMatch(/log\.level: must be one of the possible values: \["fatal".*value was "loud"/);
    expect(r.stderr).toMatch(/inference\.providers: unknown provider "tpu"; allowed: cuda, cpu/);
    expect(r.stderr).toMatch(/inference\.threads: .*-1/);
    expect(r.stderr).toMatch(/fit\.eps: must be a number > 0 .*got 0/);
    expect(r.stderr).toMatch(/fit\.batchSize: must be an integer from 1 to 256, got 0/);
    expect(r.stderr).toMatch(/camras: unknown setting/);
  });

  it('camera problems are listed with their full key path, all at once, beside the other problems', async () => {
    const f = write({
      log: { level: 'loud' },
      cameras: [
        {
          id: 'cam 1',
          recipe: 'demo',
          source: { type: 'sim', fps: -1, colour: 'red' },
          queue: { policy: 'drop-all' },
        },
        { id: 'cam2', recipe: '../etc', source: { type: 'nosuchtype' } },
        { id: 'cam2', recipe: 'demo', source: { type: 'folder' }, extra: 1 },
      ],
    });
    const r = await runCli(['check-config', f]);
    expect(r.code).toBe(2);
    const expected = [
      /log\.level: must be one of/,
      /cameras\[0\]\.id: must be 1-64 letters, digits, _ \. - .*got "cam 1"/,
      /cameras\[0\]\.source\.fps: must be a number from 0 to 1000, got -1/,
      /cameras\[0\]\.source\.colour: unknown setting/,
      /cameras\[0\]\.queue\.policy: must be one of drop-oldest, drop-newest, wait, got "drop-all"/,
      /cameras\[1\]\.recipe: .*got "\.\.\/etc"/,
      /cameras\[1\]\.source\.type: must be one of folder, sim(, \w+)*, got "nosuchtype"/,
      /cameras\[2\]\.id: "cam2" is used by another camera/,
      /cameras\[2\]\.source\.dir: must be a non-empty string/,
      /cameras\[2\]\.extra: unknown setting/,
    ];
    for (const re of expected) expect(r.stderr).toMatch(re);
    expect(r.stderr).toMatch(/has 10 problem\(s\)/);
  });

  it('camera defaults are filled in', () => {
    const f = write({ cameras: [{ id: 'c', recipe: 'r', source: { type: 'folder', dir: '/x' } }] });
    const [cam] = loadConfig(f, {}).cameras;
    expect(cam.queue).toEqual({ size: 4, policy: 'wait' }); // folders lose nothing by default
    const sim = loadConfig(write({ cameras: [{ id: 'c', recipe: 'r', source: { type: 'sim' } }] }), {})
      .cameras[0];
    expect(sim.queue.policy).toBe('drop-oldest'); // a live camera keeps the newest frames
    expect(cam.source.options).toMatchObject({ dir: '/x', mode: 'watch', settleMs: 500 });
  });

  it('config/demo.json is valid', async () => {
    const r = await runCli(['check-config', path.join(ROOT, 'config', 'demo.json')]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('environment variables override the file, and a bad one is named as such', () => {
    const f = write({ log: { level: 'warn' } });
    expect(loadConfig(f, { INSPECTD_LOG_LEVEL: 'debug' }).log.level).toBe('debug');
    expect(loadConfig(f, { INSPECTD_PROVIDERS: 'cpu' }).inference.providers).toEqual(['cpu']);
    expect(() => loadConfig(f, { INSPECTD_THREADS: 'many' })).toThrow(
      /inference\.threads: .*\(set by environment variable INSPECTD_THREADS\)/,
    );
  });

  it('a file that is not JSON or does not exist: clear error', async () => {
    const bad = await runCli(['check-config', write('{"log": {')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not valid JSON/);
    const missing = await runCli(['check-config', '/nonexistent.json']);
    expect(missing.stderr).toMatch(/configuration file \/nonexistent\.json does not exist/);
  });

  it('docs/CONFIG.md is the generated reference (regenerate with `inspectd config-doc > docs/CONFIG.md`)', async () => {
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(path.join(ROOT, 'docs', 'CONFIG.md'), 'utf8')).toBe(configReference());
  });
});
