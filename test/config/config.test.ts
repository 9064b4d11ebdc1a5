import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configReference, loadConfig, readConfig } from '../../src/config/load.js';
import { hashPassword } from '../../src/core/users.js';
import { runCli } from '../helpers/cli.js';
import { demoConfig } from '../helpers/line.js';
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
    expect(r.stderr).toMatch(/log\.level: got "loud"; allowed: one of fatal, error, warn, info/);
    expect(r.stderr).toMatch(
      /inference\.providers: got \["tpu"\]; allowed: a non-empty list drawn from cuda, webgpu, cpu, each at most once/,
    );
    expect(r.stderr).toMatch(/inference\.threads: got -1; allowed: an integer from 0/);
    expect(r.stderr).toMatch(/fit\.eps: got 0; allowed: a number > 0/);
    expect(r.stderr).toMatch(
      /fit\.batchSize: got 0; allowed: an integer from 1 to 256; fix: set fit\.batchSize to/,
    );
    expect(r.stderr).toMatch(
      /camras: got \(hidden\); allowed: no setting of this name; fix: remove it or correct the name; known here: version, log/,
    );
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
      /log\.level: got "loud"; allowed: one of/,
      /cameras\[0\]\.id: got "cam 1"; allowed: 1-64 letters, digits, _ \. -/,
      /cameras\[0\]\.source\.fps: got -1; allowed: a number from 0 to 1000/,
      /cameras\[0\]\.source\.colour: got \(hidden\); allowed: no setting of this name; fix: .*known here: .*fps/,
      /cameras\[0\]\.queue\.policy: got "drop-all"; allowed: one of auto, drop-oldest, drop-newest, wait/,
      /cameras\[1\]\.recipe: got "\.\.\/etc"; allowed: 1-64 letters/,
      /cameras\[1\]\.source\.type: got "nosuchtype"; allowed: one of folder, sim(, \w+)*/,
      /cameras\[2\]\.id: got "cam2"; allowed: id not used by another camera \(cameras\[1\] has it\); fix: give each camera its own id/,
      /cameras\[2\]\.source\.dir: got nothing; allowed: a non-empty string/,
      /cameras\[2\]\.extra: got \(hidden\); allowed: no setting of this name/,
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
    expect(cam.source.options).toMatchObject({ dir: '/x', mode: 'watch', settleSec: 0.5 });
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
      /inference\.threads: got "many" \(from environment variable INSPECTD_THREADS\); allowed: an integer from 0 to 1024; fix: correct environment variable INSPECTD_THREADS \(or unset it\)/,
    );
    expect(loadConfig(f, { INSPECTD_OPCUA_ENABLED: 'false' }).opcua.enabled).toBe(false);
    expect(() => loadConfig(f, { INSPECTD_OPCUA_ENABLED: 'nope' })).toThrow(
      /opcua\.enabled: got "nope" \(from environment variable INSPECTD_OPCUA_ENABLED\); allowed: true or false/,
    );
  });

  it('renamed settings: the old name is accepted with a warning, converted to the new unit; both at once is a problem', async () => {
    const f = write({
      opcua: { minPublishingIntervalMs: 200, client: { reconnectMaxDelaySec: 30 }, maxResults: 77 },
      recipesDir: path.join(ROOT, 'models'),
      cameras: [{ id: 'c', recipe: 'demo', source: { type: 'folder', dir: '/x', settleMs: 250 } }],
    });
    const { config, warnings } = readConfig(f, {});
    expect(config.opcua.minPublishingIntervalSec).toBe(0.2);
    expect(config.opcua.client.reconnectMaxSec).toBe(30);
    expect(config.cameras[0].source.options).toMatchObject({ settleSec: 0.25 });
    expect(warnings).toEqual([
      'cameras[0].source.settleMs is renamed cameras[0].source.settleSec (in seconds, not milliseconds); the old name is accepted until the next release',
      'opcua.maxResults is no longer used (results are looked up in the journal; journal.* sets how long they are kept); remove it before the next release',
      'opcua.minPublishingIntervalMs is renamed opcua.minPublishingIntervalSec (in seconds, not milliseconds); the old name is accepted until the next release',
      'opcua.client.reconnectMaxDelaySec is renamed opcua.client.reconnectMaxSec; the old name is accepted until the next release',
    ]);
    const checked = await runCli(['check-config', f]);
    expect(checked.code).toBe(0);
    expect(checked.stderr).toMatch(
      /warning: opcua\.minPublishingIntervalMs is renamed opcua\.minPublishingIntervalSec/,
    );
    const both = write({ opcua: { minPublishingIntervalMs: 200, minPublishingIntervalSec: 0.1 } });
    expect(() => loadConfig(both, {})).toThrow(
      /opcua\.minPublishingIntervalMs: got \(hidden\); allowed: only the new name opcua\.minPublishingIntervalSec .*; fix: remove opcua\.minPublishingIntervalMs/,
    );
  });

  it('a value of the wrong shape anywhere is a problem, never a crash', () => {
    const f = write({ log: { level: { deep: { er: 1 } } }, mqtt: 'x', cameras: {}, http: { port: [8080] } });
    expect(() => loadConfig(f, {})).toThrow(/has 4 problem\(s\)/);
    expect(() => loadConfig(f, {})).toThrow(/log\.level: got \{"deep":\{"er":1\}\}; allowed: one of/);
    expect(() => loadConfig(f, {})).toThrow(/mqtt: got "x"; allowed: an object of settings/);
    expect(() => loadConfig(f, {})).toThrow(/cameras: got \(hidden\); allowed: a list of cameras/);
    expect(() => loadConfig(f, {})).toThrow(/http\.port: got \[8080\]; allowed: an integer from 0 to 65535/);
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

describe('users files the configuration names (http.usersFile, opcua.usersFile)', () => {
  it('check-config and run list every problem of every users file at once, before anything starts', async () => {
    const dir = tempDir('users');
    const bad = path.join(dir, 'http-users');
    writeFileSync(bad, `anna:${hashPassword('anna-pass-1')}\nbob:hunter2\nanna:${hashPassword('x')}\n`);
    const f = demoConfig({
      http: { host: '0.0.0.0', port: 0, usersFile: bad },
      opcua: { enabled: true, port: 0, usersFile: path.join(dir, 'missing') },
    });
    const checked = await runCli(['check-config', f]);
    expect(checked.code).toBe(2);
    expect(checked.stderr).toContain('has 3 problem(s) with the recipes and files it names');
    expect(checked.stderr).toMatch(/http\.usersFile: got ".*http-users" \(line 2 \(user "bob"\): not a hash/);
    expect(checked.stderr).toMatch(/http\.usersFile: got ".*" \(line 3: user "anna" appears twice\)/);
    expect(checked.stderr).toMatch(/opcua\.usersFile: got ".*missing" \(cannot be read: ENOENT/);
    expect(checked.stderr).not.toContain('hunter2');
    const run = await runCli(['run', '--config', f]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('the configuration names 3 unusable file(s)');
    // Nothing started: the check comes before the journal and the recipes.
    expect(run.stderr).not.toMatch(/starting: 1 camera/);
  });
});
