import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { ROOT } from '../helpers/paths.js';
import { freePort, subscriber, waitFor } from '../helpers/peers.js';

/** The README's first command, exactly as a user types it (its first line in README.md). */
function readmeDemoCommand(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /```sh\n([^\n]+)/.exec(readme)![1];
  return block.replace(/\s+#.*$/, '').trim();
}

describe('the demo', () => {
  it('the demo recipe catches the sim camera defects (eval on fresh sim data: image AUROC >= 0.95)', async () => {
    const data = path.join(tempDir('sim-eval'), 'data');
    // A seed the recipe was not fitted on: unseen good parts and defects.
    const ds = await runCli([
      'sim-dataset',
      '--out',
      data,
      '--size',
      '256',
      '--train',
      '1',
      '--test-good',
      '40',
      '--defects-per-kind',
      '10',
      '--seed',
      '99',
    ]);
    expect(ds.code, ds.stderr).toBe(0);
    const json = path.join(path.dirname(data), 'report.json');
    const ev = await runCli([
      'eval',
      '--recipe',
      path.join(ROOT, 'models', 'demo'),
      '--dataset',
      data,
      '--json',
      json,
    ]);
    expect(ev.code, ev.stderr).toBe(0);
    const r = JSON.parse(readFileSync(json, 'utf8')) as {
      image_auroc: number;
      per_type: Record<string, { image_auroc: number | null }>;
    };
    expect(r.image_auroc).toBeGreaterThanOrEqual(0.95);
    for (const [type, m] of Object.entries(r.per_type))
      if (type !== 'good') expect(m.image_auroc, type).toBeGreaterThanOrEqual(0.9);
  });

  it(
    "the README's demo command starts the daemon; verdicts arrive over MQTT, NG among the injected defects",
    { timeout: 300_000 },
    async () => {
      const cmd = readmeDemoCommand();
      expect(cmd).toBe('bash scripts/demo.sh');
      const httpPort = await freePort();
      const mqttPort = await freePort();
      // The demo serves OPC UA on 4840; a free port keeps this test clear of anything else on the box.
      const opcuaPort = await freePort();
      const proc = spawn('bash', ['-c', cmd], {
        cwd: ROOT,
        env: {
          ...process.env,
          INSPECTD_HTTP_PORT: String(httpPort),
          INSPECTD_MQTT_EMBEDDED_PORT: String(mqttPort),
          INSPECTD_OPCUA_PORT: String(opcuaPort),
          // Tests write only to temporary folders: the demo's archive, journal and certificates too.
          INSPECTD_ARCHIVE_DIR: tempDir('demo-archive'),
          INSPECTD_JOURNAL: path.join(tempDir('demo-journal'), 'journal.sqlite'),
          INSPECTD_OPCUA_PKI_DIR: tempDir('demo-pki'),
          INSPECTD_LOG_PRETTY: 'never',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
      proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
      // Listened for from the start: a demo that fails (a port taken meanwhile, say) ends the wait at once,
      // with its output, instead of running the test into its timeout.
      let ended = false;
      const exited = new Promise<void>((r) =>
        proc.once('exit', () => {
          ended = true;
          r();
        }),
      );
      try {
        await waitFor(
          () => {
            if (ended)
              throw new Error(`scripts/demo.sh ended before the daemon was ready:\n${out.slice(-3000)}`);
            return out.includes('inspectd ready');
          },
          'the daemon ready',
          240_000,
        );
        expect(out).toContain(`web UI:       http://127.0.0.1:${httpPort}/`);
        const sub = await subscriber(`mqtt://127.0.0.1:${mqttPort}`, ['inspectd/demo/sim1/verdict']);
        const verdicts = () =>
          sub.messages.map((m) => JSON.parse(m.payload) as { verdict: string; partId: string });
        await waitFor(
          () => verdicts().some((v) => v.verdict === 'NG') && verdicts().some((v) => v.verdict === 'OK'),
          'OK and NG verdicts',
          120_000,
        );
        // The sim labels its parts: NG verdicts must be mostly on defective ones.
        const status = (await (await fetch(`http://127.0.0.1:${httpPort}/api/status`)).json()) as {
          cameras: { recent: { ok: boolean; label?: { defective: boolean } }[] }[];
        };
        const recent = status.cameras[0].recent;
        const ng = recent.filter((v) => !v.ok);
        expect(ng.length).toBeGreaterThan(0);
        expect(ng.filter((v) => v.label?.defective).length / ng.length).toBeGreaterThanOrEqual(0.5);
        await sub.client.endAsync();
      } finally {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  );
});
