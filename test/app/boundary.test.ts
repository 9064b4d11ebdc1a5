import { cpSync, mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { demoConfig } from '../helpers/line.js';
import { tempDir } from '../helpers/fixtures.js';
import { ROOT } from '../helpers/paths.js';
import { freePort, startDaemon, startMosquitto, subscriber, waitFor } from '../helpers/peers.js';

/** The daemon's edges as a plant's other systems meet them: traceability queries, HTTP, MQTT, check-config. */
describe('the daemon at its boundaries', () => {
  let broker: Awaited<ReturnType<typeof startMosquitto>>;
  let url: string;
  let http: number;
  let config: string;
  let journal: string;
  let d: ReturnType<typeof startDaemon>;
  const api = (p: string, init?: RequestInit) => fetch(`http://127.0.0.1:${http}${p}`, init);

  beforeAll(async () => {
    const port = await freePort();
    broker = await startMosquitto(port);
    url = `mqtt://127.0.0.1:${port}`;
    http = await freePort();
    journal = path.join(tempDir('boundary'), 'journal.sqlite');
    config = demoConfig(
      {
        mqtt: { url, prefix: 'insp', statsIntervalSec: 0 },
        http: { port: http },
        archive: { dir: '' },
        journal: { path: journal },
      },
      { source: { type: 'sim', width: 128, height: 128, fps: 30, defectRate: 0.4, seed: 9 } },
    );
    d = startDaemon(config, { INSPECTD_JOURNAL: journal });
    await waitFor(async () => {
      const r = await api('/api/results?limit=1').catch(() => undefined);
      return r?.ok && ((await r.json()) as { total: number }).total >= 30;
    }, '30 verdicts in the journal');
  });
  afterAll(async () => {
    d?.proc.kill('SIGKILL');
    await broker?.stop();
  });

  it('/api/results: the traceability query filters by verdict, camera, part and time, pages, and answers CSV', async () => {
    // Up to a fixed time: the daemon goes on deciding while the test asks.
    const to = Date.now();
    const all = (await (await api(`/api/results?limit=10000&to=${to}`)).json()) as {
      total: number;
      verdicts: { resultId: string; ok: boolean; partId: string; decidedAt: number; cameraId: string }[];
    };
    expect(all.verdicts.length).toBe(all.total);
    expect(all.verdicts.every((v) => v.decidedAt < to)).toBe(true);
    const ng = (await (
      await api(`/api/results?verdict=NG&camera=cam1&limit=5&to=${to}`)
    ).json()) as typeof all;
    expect(ng.verdicts.length).toBeLessThanOrEqual(5);
    expect(ng.verdicts.every((v) => !v.ok && v.cameraId === 'cam1')).toBe(true);
    expect(ng.total).toBe(all.verdicts.filter((v) => !v.ok).length);
    expect(ng.verdicts).toEqual(all.verdicts.filter((v) => !v.ok).slice(0, 5));
    const one = all.verdicts[10];
    const byPart = (await (await api(`/api/results?partId=${one.partId}`)).json()) as typeof all;
    expect(byPart.verdicts.map((v) => v.resultId)).toEqual([one.resultId]);
    const at = new Date(one.decidedAt).toISOString();
    const window = (await (
      await api(`/api/results?from=${at}&to=${one.decidedAt + 1}`)
    ).json()) as typeof all;
    expect(window.verdicts.map((v) => v.resultId)).toContain(one.resultId);
    expect(window.verdicts.every((v) => v.decidedAt >= one.decidedAt && v.decidedAt <= one.decidedAt)).toBe(
      true,
    );
    const page = (await (await api('/api/results?limit=2&offset=1')).json()) as typeof all;
    expect(page.verdicts).toHaveLength(2);
    const csv = await (await api('/api/results?verdict=NG&limit=3&format=csv')).text();
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toMatch(
      /^resultId,decidedAt,capturedAt,camera,recipe,modelVersion,partId,jobId,seq,verdict,score/,
    );
    expect(lines.slice(1).every((l) => l.split(',')[9] === 'NG')).toBe(true);
    const bad = await api('/api/results?verdict=maybe&from=yesterday');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(
      /from: got "yesterday"; allowed: an ISO 8601 time.*\nverdict: got "maybe"; allowed: OK or NG/,
    );
  });

  it('inspectd results --csv answers the same query from the journal beside the running daemon', async () => {
    const r = await runCli(['results', '--config', config, '--verdict', 'NG', '--limit', '4', '--csv'], {
      INSPECTD_JOURNAL: journal,
    });
    expect(r.code, r.stderr).toBe(0);
    const ids = r.stdout
      .trim()
      .split('\r\n')
      .slice(1)
      .map((l) => l.split(',')[0]);
    expect(ids.length).toBeGreaterThan(0);
    const api4 = (await (await api('/api/results?verdict=NG&limit=100')).json()) as {
      verdicts: { resultId: string }[];
    };
    for (const id of ids) expect(api4.verdicts.map((v) => v.resultId)).toContain(id);
    expect(r.stderr).toMatch(/results: \d+ of \d+ matching/);
    const bad = await runCli(['results', '--config', config, '--verdict', 'maybe'], {
      INSPECTD_JOURNAL: journal,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/verdict: got "maybe"; allowed: OK or NG/);
  });

  it('HTTP: any method but GET and HEAD is 405 with Allow, on every path', async () => {
    for (const p of ['/', '/readyz', '/api/results', '/metrics', '/nope']) {
      const r = await api(p, { method: 'POST', body: 'x' });
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('GET, HEAD');
    }
    const head = await api('/healthz', { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('MQTT: a 1 MB command is refused without being read or echoed back; the daemon goes on', async () => {
    const states = await subscriber(url, ['insp/L1/cam1/recipe/state']);
    const client = await mqtt.connectAsync(url);
    try {
      await client.publishAsync('insp/L1/cam1/recipe/set', Buffer.alloc(1 << 20, 'a'), { qos: 1 });
      const refused = await waitFor(
        () =>
          states.messages.find((m) => /"status":"error"/.test(m.payload) && /1048576 bytes/.test(m.payload)),
        'the refusal',
      );
      expect(refused.payload.length).toBeLessThan(400);
      expect(JSON.parse(refused.payload)).toMatchObject({ recipe: 'demo', status: 'error' });
      await client.publishAsync('insp/L1/cam1/recipe/set', 'x'.repeat(900), { qos: 1 });
      const bad = await waitFor(
        () => states.messages.find((m) => /is not valid/.test(m.payload)),
        'the bad name',
      );
      expect(bad.payload.length).toBeLessThan(400);
      expect((await api('/healthz')).status).toBe(200);
    } finally {
      await client.endAsync();
      await states.client.endAsync();
    }
  });
});

describe('check-config opens every recipe the cameras name', () => {
  it('lists a missing recipe, a corrupt manifest and a truncated model at once (exit 2); a missing recipesDir too', async () => {
    const recipes = path.join(tempDir('check-recipes'), 'models');
    mkdirSync(recipes);
    for (const name of ['good', 'badmanifest', 'truncated'])
      cpSync(path.join(ROOT, 'models', 'demo'), path.join(recipes, name), { recursive: true });
    writeFileSync(path.join(recipes, 'badmanifest', 'manifest.json'), '{ "schema": 1, ');
    truncateSync(path.join(recipes, 'truncated', 'model.onnx'), 1000);
    const camera = (id: string, recipe: string) => ({ id, recipe, source: { type: 'sim' } });
    const file = path.join(tempDir('check'), 'c.json');
    const write = (dir: string) =>
      writeFileSync(
        file,
        JSON.stringify({
          recipesDir: dir,
          cameras: [
            camera('a', 'good'),
            camera('b', 'missing'),
            camera('c', 'badmanifest'),
            camera('d', 'truncated'),
          ],
        }),
      );
    write(recipes);
    const r = await runCli(['check-config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has 3 problem\(s\) with the recipes and files it names/);
    expect(r.stderr).toMatch(
      /cameras\[1\]\.recipe: got "missing"; allowed: .*in .*: badmanifest, good, truncated\); fix: there is no /,
    );
    expect(r.stderr).toMatch(/cameras\[2\]\.recipe: got "badmanifest".*is not valid JSON/);
    expect(r.stderr).toMatch(
      /cameras\[3\]\.recipe: got "truncated".*not the model this recipe was fitted with/,
    );
    expect(r.stderr).not.toMatch(/cameras\[0\]/);
    rmSync(recipes, { recursive: true });
    const gone = await runCli(['check-config', file]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/recipesDir: got ".*"; allowed: an existing folder/);
    write(path.join(ROOT, 'models'));
    writeFileSync(
      file,
      JSON.stringify({ recipesDir: path.join(ROOT, 'models'), cameras: [camera('a', 'demo')] }),
    );
    const ok = await runCli(['check-config', file]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});
