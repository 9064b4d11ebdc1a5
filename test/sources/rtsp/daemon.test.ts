import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/fixtures.js';
import { ROOT } from '../../helpers/paths.js';
import { freePort, startDaemon, waitFor } from '../../helpers/peers.js';
import { startRtspServer, type RtspServer } from '../../helpers/rtspServer.js';

const USER = 'lineop';
const PASSWORD = 'Pa55:w@rd/7';

interface CameraStatus {
  id: string;
  source: { kind: string; state: string; stats: Record<string, number> };
  counts: { frames: number };
}

const rtspCamera = (id: string, url: string) => ({
  id,
  recipe: 'demo',
  source: { type: 'rtsp', url, width: 128, height: 128, fps: 5, reconnectMinSec: 0.2, reconnectMaxSec: 1 },
});

function writeConfig(cameras: object[], httpPort: number, mqttPort: number): string {
  const file = path.join(tempDir('rtsp-config'), 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      line: 'L1',
      recipesDir: path.join(ROOT, 'models'),
      cameras,
      mqtt: { url: '', embedded: { host: '127.0.0.1', port: mqttPort }, statsIntervalSec: 0 },
      http: { host: '127.0.0.1', port: httpPort },
      shutdownTimeoutSec: 5,
    }),
  );
  return file;
}

/** Processes whose command line mentions `needle` (ffmpeg children left behind would). */
function processesWith(needle: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'latin1').includes(needle)) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('inspectd run with RTSP cameras: a good one and three that cannot connect', () => {
  let server: RtspServer;

  beforeAll(async () => {
    server = await startRtspServer({ width: 320, height: 240, fps: 10, user: USER, password: PASSWORD });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('inspects the good camera, reports each bad one clearly, keeps retrying them and keeps running', async () => {
    const port = server.port;
    const enc = encodeURIComponent(PASSWORD);
    const refusedPort = await freePort();
    const httpPort = await freePort();
    const config = writeConfig(
      [
        rtspCamera('good', server.url),
        rtspCamera('badAuth', `rtsp://${USER}:not-${enc}@127.0.0.1:${port}/cam`),
        rtspCamera('badPath', `rtsp://${USER}:${enc}@127.0.0.1:${port}/no/such/stream`),
        rtspCamera('nobody', `rtsp://${USER}:${enc}@127.0.0.1:${refusedPort}/cam`),
      ],
      httpPort,
      await freePort(),
    );
    const d = startDaemon(config);
    try {
      const status = async (): Promise<CameraStatus[]> =>
        (
          (await (await fetch(`http://127.0.0.1:${httpPort}/api/status`)).json()) as {
            cameras: CameraStatus[];
          }
        ).cameras;
      const cam = async (id: string): Promise<CameraStatus> => (await status()).find((c) => c.id === id)!;
      await waitFor(
        () => d.logs().some((l) => l.msg.startsWith('inspectd running')),
        'the daemon to start',
        60_000,
      );

      // The good camera's frames are inspected.
      await waitFor(async () => (await cam('good')).counts.frames >= 3, 'three inspected frames', 60_000);
      expect((await cam('good')).source).toMatchObject({ kind: 'rtsp', state: 'streaming' });

      // Each bad camera: its own clear error line, then retries.
      const reasons = { badAuth: 'auth', badPath: 'not-found', nobody: 'refused' } as const;
      for (const [id, reason] of Object.entries(reasons)) {
        await waitFor(
          async () => (await cam(id)).source.stats.restarts >= 3,
          `${id}: three restarts`,
          60_000,
        );
        const line = d.logs().find((l) => l.camera === id && l.reason === reason);
        expect(line?.level, id).toBe(50);
        expect(line?.msg, id).toContain(`rtsp camera ${id}: `);
        expect((await cam(id)).source.state, id).toBe('reconnecting');
      }
      expect(d.logs().find((l) => l.reason === 'auth')?.msg).toContain('401 Unauthorized');
      expect(d.logs().find((l) => l.reason === 'not-found')?.msg).toContain('404 Not Found');

      // Still running and healthy; the good camera still streams beside the failing ones.
      expect(d.proc.exitCode).toBeNull();
      expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
      const framesNow = (await cam('good')).counts.frames;
      await waitFor(async () => (await cam('good')).counts.frames > framesNow, 'more frames', 30_000);
    } finally {
      d.proc.kill('SIGTERM');
    }
    expect(await d.exited).toBe(0);
    // Every ffmpeg child went with the daemon.
    expect(processesWith(`127.0.0.1:${server.port}`).filter((p) => p !== server.proc.pid)).toEqual([]);
    expect(processesWith(`127.0.0.1:${refusedPort}`)).toEqual([]);
    // Not one log line carries the password, plain or percent-encoded, nor the user name.
    const all = JSON.stringify(d.logs());
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(encodeURIComponent(PASSWORD));
    expect(all).not.toContain(USER);
  });

  it('refuses a URL that is not rtsp:// at configuration time, without echoing its credentials', async () => {
    const config = writeConfig(
      [rtspCamera('cam', `http://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:8554/cam`)],
      await freePort(),
      await freePort(),
    );
    const r = await runCli(['check-config', config]);
    expect(r.code).toBe(2);
    const out = r.stdout + r.stderr;
    const line = out.split('\n').find((l) => l.includes('cameras[0].source.url'));
    // The value itself is hidden (the setting is sensitive); the line says what is allowed.
    expect(line).toContain('starts with rtsp:// or rtsps://');
    // Nothing in the whole report carries the credentials (the cameras setting is marked sensitive).
    expect(out).not.toContain(USER);
    expect(out).not.toContain(encodeURIComponent(PASSWORD));
    expect(out).not.toContain(PASSWORD);
  });
});
