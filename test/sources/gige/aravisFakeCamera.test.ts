/**
 * Against Aravis's fake GigE camera (apt: aravis-tools), started here on 127.0.0.1. It binds UDP 3956 on
 * that address, so the tests run one after the other and each camera process is killed after its tests.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchGenicamXml, readBootstrap } from '../../../src/sources/gige/genicamXml.js';
import { GvcpError } from '../../../src/sources/gige/gvcp.js';
import { discover } from '../../../src/sources/gige/discovery.js';
import { CCP_CONTROL, GvcpClient, GvcpRegister } from '../../../src/sources/gige/gvcpClient.js';
import {
  aravisFakeCameraAvailable,
  makeZip,
  startAravisFakeCamera,
  until,
  type RunningFakeCamera,
} from '../../helpers/fakeCamera.js';
import { acquireFakeCameraLock } from '../../helpers/fakeCameraLock.js';

const IP = '127.0.0.1';
/** WidthRegister in the fake camera's XML (IntReg, RW, 4 bytes, big-endian). */
const WIDTH_REGISTER = 0x100;
const HEIGHT_REGISTER = 0x104;

// Generous on a loaded 2-core box; the waits are on conditions, these are only the deadlines.
const FAST = { timeoutMs: 300, tries: 5 };

// A real camera peer, not a mock: scripts/install-deps.sh installs it, and its absence is a failure, not a skip.
if (!aravisFakeCameraAvailable()) {
  throw new Error('arv-fake-gv-camera-0.8 not found: run scripts/install-deps.sh (apt install aravis-tools)');
}

// One fake camera at a time across test files (it only listens on 127.0.0.1:3956).
let releaseLock: (() => void) | undefined;
beforeAll(async () => {
  releaseLock = await acquireFakeCameraLock();
});
afterAll(() => releaseLock?.());

describe.sequential('GigE against the Aravis fake camera', () => {
  let cam: RunningFakeCamera | undefined;
  const clients: GvcpClient[] = [];
  const open = async (opts = {}): Promise<GvcpClient> => {
    const c = await GvcpClient.connect(IP, { ...FAST, ...opts });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cam = await startAravisFakeCamera({ ip: IP, serial: 'GIGETEST1' });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
  });
  afterAll(async () => {
    for (const c of clients.splice(0)) await c.close();
    await cam?.stop();
  });

  it('finds the camera by unicast discovery, with its identity strings', async () => {
    const found = await discover({ address: IP, timeoutMs: 600 });
    const dev = found.find((d) => d.serial === 'GIGETEST1');
    expect(dev, JSON.stringify(found)).toBeDefined();
    expect(dev).toMatchObject({
      manufacturer: 'Aravis',
      model: 'Fake',
      ip: IP,
      address: IP,
      port: 3956,
      // The fake camera leaves the version register (0x0000) at 0.0.
      specVersion: { major: expect.any(Number), minor: expect.any(Number) },
    });
    expect(dev!.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(dev!.deviceVersion).toMatch(/^\d+\.\d+/);
  });

  it('finds the camera by broadcast from a socket bound to loopback', async () => {
    // 255.255.255.255 from a socket bound to 127.0.0.1 leaves through lo and reaches the fake camera's
    // global-discovery socket. (Unbound, it leaves through the default interface and the answer comes from
    // that interface's address; a 127.255.255.255 subnet broadcast gets no answer.)
    const found = await discover({ timeoutMs: 600, interfaceAddress: IP });
    expect(found.find((d) => d.serial === 'GIGETEST1')).toMatchObject({ address: IP, model: 'Fake' });
  });

  it('finds nothing, without error, where no camera answers', async () => {
    expect(await discover({ address: '127.0.0.1', port: 39999, timeoutMs: 300 })).toEqual([]);
  });

  it('opens control, reads bootstrap strings, writes and reads back a register', async () => {
    const c = await open();
    await c.openControl();
    expect(c.hasControl).toBe(true);
    expect(c.heartbeatTimeoutMs).toBe(3000);
    expect(c.heartbeatIntervalMs).toBe(1000);
    expect(await c.readRegister(GvcpRegister.CCP)).toBe(CCP_CONTROL);

    const boot = await readBootstrap(c);
    expect(boot).toMatchObject({ manufacturer: 'Aravis', model: 'Fake', serial: 'GIGETEST1', ip: IP });
    expect(boot.heartbeatTimeoutMs).toBe(3000);
    expect(boot.firstUrl).toMatch(/^Local:/i);

    const before = await c.readRegister(WIDTH_REGISTER);
    const want = before === 320 ? 640 : 320;
    await c.writeRegister(WIDTH_REGISTER, want);
    expect(await c.readRegister(WIDTH_REGISTER)).toBe(want);
    expect(await c.readRegisters([WIDTH_REGISTER, HEIGHT_REGISTER])).toEqual([
      want,
      await c.readRegister(HEIGHT_REGISTER),
    ]);
    await c.writeRegister(WIDTH_REGISTER, before);
    expect(await c.readRegister(WIDTH_REGISTER)).toBe(before);

    // WRITEMEM then READMEM of the same register pair.
    const h = await c.readRegister(HEIGHT_REGISTER);
    const block = Buffer.alloc(8);
    block.writeUInt32BE(before, 0);
    block.writeUInt32BE(h, 4);
    await c.writeMemory(WIDTH_REGISTER, block);
    expect(await c.readMemory(WIDTH_REGISTER, 8)).toEqual(block);
  });

  it('reads memory across chunk boundaries, equal to piecewise reads', async () => {
    const c = await open();
    const url = (await c.readMemory(0x200, 512)).toString('latin1');
    const address = parseInt(/;([0-9a-f]+);/i.exec(url)![1], 16);
    const whole = await c.readMemory(address, 2000); // 536 + 536 + 536 + 392
    expect(whole.length).toBe(2000);
    const pieces: Buffer[] = [];
    for (let off = 0; off < 2000; off += 100) pieces.push(await c.readMemory(address + off, 100));
    expect(whole.equals(Buffer.concat(pieces))).toBe(true);
    // An odd length is read rounded up to 4 and trimmed.
    expect((await c.readMemory(address, 1001)).equals(whole.subarray(0, 1001))).toBe(true);
    expect(c.stats().timeouts).toBe(0);
  });

  it('refuses a second client while the first holds control, then lets it in after close', async () => {
    const first = await open();
    await first.openControl();
    const second = await open({ timeoutMs: 250, tries: 2 });
    const err = await second.openControl().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GvcpError);
    const g = err as GvcpError;
    expect(g.status).toBe(0x8006);
    expect(g.message).toMatch(/ACCESS_DENIED/);
    expect(g.message).toMatch(/another host holds it/);
    expect(g.describe()).toMatch(/fix: close the other application/);
    expect(second.hasControl).toBe(false);
    // The first one still holds it and can still write.
    await first.writeRegister(WIDTH_REGISTER, await first.readRegister(WIDTH_REGISTER));

    await first.close();
    await second.openControl();
    expect(second.hasControl).toBe(true);
    expect(await second.readRegister(GvcpRegister.CCP)).toBe(CCP_CONTROL);
  });

  it('fetches the GenICam XML', async () => {
    const c = await open();
    const g = await fetchGenicamXml(c);
    expect(g.url).toMatch(/^Local:arv-fake-camera\.xml;/);
    expect(g.fileName).toBe('arv-fake-camera.xml');
    expect(g.xml.startsWith('<?xml') || g.xml.includes('<RegisterDescription')).toBe(true);
    for (const name of ['Width', 'Height', 'PixelFormat']) expect(g.xml).toContain(`Name="${name}"`);
    expect(g.xml).toContain('<Address>0x100</Address>'); // WidthRegister, used above
    expect(g.xml.trimEnd().endsWith('</RegisterDescription>')).toBe(true);
  });

  it('emits lost within a bounded time when the camera dies', async () => {
    const c = await open({ timeoutMs: 400, tries: 2, heartbeatIntervalMs: 200, heartbeatFailures: 2 });
    await c.openControl();
    let lost: Error | undefined;
    c.on('lost', (e) => (lost = e));
    await until(() => c.stats().heartbeats >= 2, 'two heartbeats', 10_000);
    expect(lost).toBeUndefined();
    await cam!.stop();
    const t0 = Date.now();
    // Worst case: one interval + 2 heartbeats x 2 tries x 400 ms, under 2 s; allow a loaded box 10 s.
    await until(() => lost !== undefined, "'lost'", 10_000);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(lost).toBeInstanceOf(GvcpError);
    expect(lost!.message).toMatch(/heartbeats in a row failed/);
    expect(c.hasControl).toBe(false);
    await c.close(); // no hang on a dead device
  });
});

describe.sequential('GigE fake camera serving a zipped GenICam XML', () => {
  let cam: RunningFakeCamera | undefined;
  let dir: string | undefined;
  let client: GvcpClient | undefined;

  afterAll(async () => {
    await client?.close();
    await cam?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('unzips the XML the camera serves (named .xml, ZIP content)', async () => {
    // The fake camera's own XML, read from a first run, zipped and served by a second (-g).
    const first = await startAravisFakeCamera({ ip: IP, serial: 'GIGEZIP1' });
    let xml: string;
    try {
      const c = await GvcpClient.connect(IP, FAST);
      xml = (await fetchGenicamXml(c)).xml;
      await c.close();
    } finally {
      await first.stop();
    }
    dir = await mkdtemp(path.join(os.tmpdir(), 'inspectd-gige-'));
    const zipPath = path.join(dir, 'camera.zip');
    await writeFile(zipPath, makeZip([{ name: 'arv-fake-camera.xml', data: Buffer.from(xml) }]));
    cam = await startAravisFakeCamera({ ip: IP, serial: 'GIGEZIP2', genicam: zipPath });
    client = await GvcpClient.connect(IP, FAST);
    const g = await fetchGenicamXml(client);
    expect(g.xml).toBe(xml);
  });
});
