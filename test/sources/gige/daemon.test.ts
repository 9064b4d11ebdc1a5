/**
 * `inspectd run` with a GigE Vision camera (Aravis's fake camera on 127.0.0.1, under the cross-file lock): its
 * frames are inspected and published; the camera is killed and restarted, and the daemon goes on without a
 * restart, reporting the camera's state meanwhile.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/fixtures.js';
import { ROOT } from '../../helpers/paths.js';
import { freePort, startDaemon, subscriber, waitFor } from '../../helpers/peers.js';
import { startAravisFakeCamera } from '../../helpers/fakeCamera.js';
import { fakeCameraForFile } from '../../helpers/fakeCameraLock.js';

const IP = '127.0.0.1';
const SERIAL = 'GIGEDAEMON1';

interface CameraStatus {
  id: string;
  source: { kind: string; state: string; stats: Record<string, number> };
  counts: { frames: number };
}

const camera = fakeCameraForFile(() => startAravisFakeCamera({ ip: IP, serial: SERIAL }), {
  beforeAll,
  afterAll,
});

describe('inspectd run with a GigE Vision camera', () => {
  it('inspects its frames, and rides out the camera being power-cycled without a restart', async () => {
    const httpPort = await freePort();
    const mqttPort = await freePort();
    const file = path.join(tempDir('gige-config'), 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        line: 'L1',
        recipesDir: path.join(ROOT, 'models'),
        cameras: [
          {
            id: 'gige1',
            recipe: 'demo',
            source: {
              type: 'gige',
              serial: SERIAL,
              address: IP,
              width: 256,
              height: 256,
              pixelFormat: 'Mono8',
              frameRate: 10,
              reconnectMinSec: 0.2,
              reconnectMaxSec: 1,
            },
          },
        ],
        mqtt: { url: '', embedded: { host: IP, port: mqttPort }, statsIntervalSec: 0 },
        http: { host: IP, port: httpPort },
        shutdownTimeoutSec: 5,
      }),
    );
    const d = startDaemon(file);
    const status = async (): Promise<CameraStatus> =>
      ((await (await fetch(`http://${IP}:${httpPort}/api/status`)).json()) as { cameras: CameraStatus[] })
        .cameras[0];
    try {
      await waitFor(() => d.logs().some((l) => l.msg.startsWith('inspectd running')), 'the daemon', 60_000);
      const sub = await subscriber(`mqtt://${IP}:${mqttPort}`, ['inspectd/L1/gige1/verdict']);
      try {
        await waitFor(() => sub.messages.length >= 3, 'three verdicts', 60_000);
        const v = JSON.parse(sub.messages[0].payload) as { camera: string; verdict: string; seq: number };
        expect(v.camera).toBe('gige1');
        expect(['OK', 'NG']).toContain(v.verdict);
        expect((await status()).source).toMatchObject({ kind: 'gige', state: 'streaming' });
        expect(d.logs().some((l) => /GigE camera gige1 streaming: Aravis Fake GIGEDAEMON1/.test(l.msg))).toBe(
          true,
        );

        // Power cycle: the source reports it, the daemon stays up and healthy, frames resume by themselves.
        await camera.stop();
        await waitFor(async () => (await status()).source.state === 'reconnecting', 'reconnecting', 30_000);
        expect((await fetch(`http://${IP}:${httpPort}/healthz`)).status).toBe(200);
        const before = sub.messages.length;
        await camera.restart();
        await waitFor(() => sub.messages.length >= before + 3, 'verdicts after the restart', 60_000);
        const s = await status();
        expect(s.source.state).toBe('streaming');
        expect(s.source.stats.reconnects).toBe(1);
        expect(d.proc.exitCode).toBeNull();
      } finally {
        await sub.client.endAsync();
      }
    } finally {
      d.proc.kill('SIGTERM');
    }
    expect(await d.exited).toBe(0);
    // The camera was released on the way out: another host can take it at once.
    expect(d.logs().some((l) => /GigE camera gige1 stopped/.test(l.msg))).toBe(true);
  });
});
