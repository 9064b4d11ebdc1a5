/**
 * GVSP streaming from Aravis's fake GigE camera (127.0.0.1, under the cross-file lock): continuous
 * acquisition, its packet-loss option, and resends through a lossy relay (aravis 0.8.26's fake camera
 * ignores PACKETRESEND and announces no resend capability, so recovery is shown with a relay that keeps the
 * camera's real packets and answers PACKETRESEND commands itself).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import dgram from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodePacketResendCmd } from '../../../src/sources/gige/gvcp.js';
import { discover } from '../../../src/sources/gige/discovery.js';
import { GvcpCapability, GvcpClient } from '../../../src/sources/gige/gvcpClient.js';
import type { AssembledFrame } from '../../../src/sources/gige/gvspAssembler.js';
import { Pfnc, convertToPipeline } from '../../../src/sources/gige/pixelFormats.js';
import {
  AravisFakeCameraRegister as R,
  GvspStreamChannel,
  StreamChannelRegister,
} from '../../../src/sources/gige/streamChannel.js';
import {
  ARAVIS_FAKE_CAMERA,
  startAravisFakeCamera,
  until,
  type RunningFakeCamera,
} from '../../helpers/fakeCamera.js';
import { acquireFakeCameraLock } from '../../helpers/fakeCameraLock.js';

const IP = '127.0.0.1';
const FRAMES = 250;
/** 100 fps: 250 frames in ~2.5 s. */
const FRAME_PERIOD_US = 10_000;
const RELAY = path.join(import.meta.dirname, '../../helpers/lossyRelay.mjs');

let releaseLock: (() => void) | undefined;
beforeAll(async () => {
  releaseLock = await acquireFakeCameraLock();
});
afterAll(() => releaseLock?.());

async function startCamera(): Promise<{ cam: RunningFakeCamera; client: GvcpClient }> {
  const cam = await startAravisFakeCamera({ ip: IP, serial: 'GVSPTEST1' });
  const client = await GvcpClient.connect(IP, { timeoutMs: 400, tries: 5 });
  await client.openControl();
  return { cam, client };
}

/** The fake camera with `-r` (GVSP packets lost per thousand); the shared helper has no such option. */
async function startLossy(lossPerThousand: number): Promise<{ cam: RunningFakeCamera; client: GvcpClient }> {
  const serial = 'GVSPLOSS1';
  const proc = spawn(ARAVIS_FAKE_CAMERA, ['-i', IP, '-s', serial, '-r', String(lossPerThousand)], {
    stdio: 'ignore',
  });
  const exit = new Promise<void>((r) => proc.once('exit', () => r()));
  const cam: RunningFakeCamera = {
    proc,
    ip: IP,
    serial,
    output: () => '',
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exit;
    },
  };
  const killOnExit = (): void => void proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exit.then(() => process.off('exit', killOnExit));
  const end = Date.now() + 15_000;
  while (!(await discover({ address: IP, timeoutMs: 300 })).some((d) => d.serial === serial)) {
    if (Date.now() > end || proc.exitCode !== null) {
      await cam.stop();
      throw new Error(`${ARAVIS_FAKE_CAMERA} -r ${lossPerThousand} did not answer discovery`);
    }
  }
  const client = await GvcpClient.connect(IP, { timeoutMs: 400, tries: 5 });
  await client.openControl();
  return { cam, client };
}

async function configure(
  client: GvcpClient,
  width: number,
  height: number,
  periodUs = FRAME_PERIOD_US,
): Promise<void> {
  await client.writeRegister(R.WIDTH, width);
  await client.writeRegister(R.HEIGHT, height);
  await client.writeRegister(R.PIXEL_FORMAT, Pfnc.Mono8);
  await client.writeRegister(R.ACQUISITION_MODE, 1); // Continuous
  await client.writeRegister(R.FRAME_PERIOD_US, periodUs);
}

async function acquire(
  client: GvcpClient,
  stream: GvspStreamChannel,
  frames: number,
): Promise<AssembledFrame[]> {
  const got: AssembledFrame[] = [];
  stream.on('frame', (f) => got.push(f));
  await client.writeRegister(R.ACQUISITION_COMMAND, 1); // AcquisitionStart
  const seen = (): number => {
    const s = stream.stats();
    return s.framesComplete + s.framesIncomplete + s.framesLost;
  };
  await until(() => seen() >= frames, `${frames} frames`, 60_000);
  await client.writeRegister(R.ACQUISITION_COMMAND, 0); // AcquisitionStop
  return got;
}

describe.sequential('GVSP from the Aravis fake camera', () => {
  let cam: RunningFakeCamera | undefined;
  let client: GvcpClient | undefined;
  let stream: GvspStreamChannel | undefined;
  const sockets: dgram.Socket[] = [];
  const relays: ChildProcess[] = [];

  afterEach(async () => {
    await stream?.close();
    stream = undefined;
    for (const s of sockets.splice(0)) s.close();
    for (const r of relays.splice(0)) r.kill();
    await client?.close();
    client = undefined;
    await cam?.stop();
    cam = undefined;
  });

  it(`streams ${FRAMES} complete Mono8 frames of the configured size`, async () => {
    ({ cam, client } = await startCamera());
    await configure(client, 640, 480);
    const warnings: string[] = [];
    stream = await GvspStreamChannel.open(client, {
      hostAddress: IP,
      log: { warn: (_o, msg) => warnings.push(msg) },
    });
    expect(stream.port).toBeGreaterThan(0);
    expect(await client.readRegister(StreamChannelRegister.PORT)).toBe(stream.port);
    // The fake camera announces no PACKETRESEND capability, so 'auto' leaves resends off.
    expect((await client.readCapabilities()) & GvcpCapability.PACKETRESEND).toBe(0);
    expect(stream.resendEnabled).toBe(false);
    // The receive buffer: 32 MiB asked; the kernel grants min(asked, rmem_max) * 2 and we warn when capped.
    const s0 = stream.stats();
    if (s0.recvBufferBytes < 32 * 1024 * 1024)
      expect(warnings.join('\n')).toMatch(/sysctl -w net\.core\.rmem_max=33554432/);
    else expect(warnings).toEqual([]);

    const frames = await acquire(client, stream, FRAMES);
    const s = stream.stats();
    console.log('GVSP lossless:', JSON.stringify({ ...s, recvBufferBytes: s.recvBufferBytes }));
    expect(s.framesIncomplete + s.framesLost).toBe(0);
    expect(s.packetsMalformed + s.packetsOutOfRange + s.leadersRejected).toBe(0);
    expect(frames.length).toBeGreaterThanOrEqual(FRAMES);
    for (const f of frames) {
      expect(f.complete).toBe(true);
      expect(f.leader).toMatchObject({ width: 640, height: 480, pixelFormat: Pfnc.Mono8 });
      expect(f.data.length).toBe(640 * 480);
    }
    const img = convertToPipeline(frames[0].leader.pixelFormat, 640, 480, frames[0].data);
    expect(img.pixelFormat).toBe('mono8');
    expect(img.data.some((v) => v !== 0)).toBe(true); // the fake camera's pattern, not an empty buffer
    // Increasing 16-bit block ids (the fake camera skips an id when it falls behind its frame period).
    for (let i = 1; i < frames.length; i++) {
      const step = (frames[i].blockId - frames[i - 1].blockId + 0x10000) % 0x10000;
      expect(step).toBeGreaterThanOrEqual(1);
      expect(step).toBeLessThan(10);
    }
  });

  it('measures completeness with the camera dropping 1% of packets (no resend: the camera has none)', async () => {
    ({ cam, client } = await startLossy(10));
    await configure(client, 640, 480);
    stream = await GvspStreamChannel.open(client, { hostAddress: IP });
    await acquire(client, stream, FRAMES);
    const s = stream.stats();
    const total = s.framesComplete + s.framesIncomplete + s.framesLost;
    const pct = (100 * s.framesComplete) / total;
    console.log(`GVSP 1% loss, no resend: ${pct.toFixed(1)}% complete`, JSON.stringify(s));
    expect(s.resendRequests).toBe(0);
    // ~227 packets per 640x480 frame: 0.99^227 = ~10% of frames arrive whole.
    expect(pct).toBeLessThan(50);
    expect(s.framesIncomplete + s.framesLost).toBeGreaterThan(0);
    expect(stream.inFlight.frames).toBeLessThanOrEqual(4);
  });

  it('recovers frames by PACKETRESEND through a lossy relay (1% dropped)', async () => {
    ({ cam, client } = await startCamera());
    // 50 fps: the relay and the other test files share the 2 cores, so a resend takes longer than from a camera.
    await configure(client, 640, 480, 20_000);
    // Relay (its own process, as a camera is its own device): the camera streams to it; it forwards to the
    // channel dropping 1% (seeded), keeps the last packets and answers PACKETRESEND commands.
    const relay = spawn(process.execPath, [RELAY, IP, '0.01', '1234'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    relays.push(relay);
    const lines = readline.createInterface({ input: relay.stdout! })[Symbol.asyncIterator]();
    const ports = JSON.parse((await lines.next()).value as string) as { data: number; control: number };
    let reqId = 0;
    const control = dgram.createSocket('udp4');
    sockets.push(control);
    stream = await GvspStreamChannel.open(client, {
      hostAddress: IP,
      // Generous on a loaded 2-core CI box: a starved event loop must not give frames up before resends land.
      maxFramesInFlight: 64,
      frameTimeoutMs: 2000,
      resend: (r) =>
        control.send(
          encodePacketResendCmd((reqId = (reqId % 0xffff) + 1), { channel: 0, ...r }),
          ports.control,
          IP,
        ),
    });
    relay.stdin!.write(`target ${stream.port}\n`);
    await client.writeRegister(StreamChannelRegister.PORT, ports.data);
    expect(stream.resendEnabled).toBe(true);

    await acquire(client, stream, FRAMES);
    relay.stdin!.write('stats\n');
    const { dropped, answered } = JSON.parse((await lines.next()).value as string) as {
      dropped: number;
      answered: number;
    };
    const s = stream.stats();
    const total = s.framesComplete + s.framesIncomplete + s.framesLost;
    const pct = (100 * s.framesComplete) / total;
    console.log(
      `GVSP 1% loss with resend: ${pct.toFixed(1)}% complete, ${s.framesRecovered} recovered, ` +
        `${s.resendRequests} requests for ${s.resendPackets} packets, relay dropped ${dropped}, answered ${answered}`,
      JSON.stringify(s),
    );
    expect(dropped).toBeGreaterThan(100);
    expect(s.framesRecovered).toBeGreaterThan(FRAMES / 2);
    expect(pct).toBeGreaterThanOrEqual(95);
  });
});
