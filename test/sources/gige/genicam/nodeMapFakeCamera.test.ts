/**
 * The GenICam node map on Aravis's fake GigE camera (apt: aravis-tools): its own XML, fetched over GVCP,
 * evaluated against the live device and against an in-memory copy of its registers.
 *
 * The camera binds UDP 3956 on 127.0.0.1, one per address: this file holds the cross-process lock
 * /tmp/inspectd-fake-gige.lock (test/helpers/fakeCameraLock.ts) while its camera runs, so files run in parallel wait.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InspectdError } from '../../../../src/core/errors.js';
import { NodeMap } from '../../../../src/sources/gige/genicam/nodeMap.js';
import { MemoryPort, gvcpPort } from '../../../../src/sources/gige/genicam/port.js';
import { fetchGenicamXml } from '../../../../src/sources/gige/genicamXml.js';
import { GvcpClient } from '../../../../src/sources/gige/gvcpClient.js';
import {
  aravisFakeCameraAvailable,
  startAravisFakeCamera,
  type RunningFakeCamera,
} from '../../../helpers/fakeCamera.js';
import { FAKE_CAMERA_LOCK, acquireFakeCameraLock } from '../../../helpers/fakeCameraLock.js';

const IP = '127.0.0.1';
const FAST = { timeoutMs: 300, tries: 5 };
const WIDTH_REGISTER = 0x100;
const HEIGHT_REGISTER = 0x104;
const PIXEL_FORMAT_REGISTER = 0x128;

if (!aravisFakeCameraAvailable()) {
  throw new Error('arv-fake-gv-camera-0.8 not found: run scripts/install-deps.sh (apt install aravis-tools)');
}

async function rejection(p: Promise<unknown>): Promise<InspectdError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(InspectdError);
  return e as InspectdError;
}

describe.sequential('GenICam node map on the Aravis fake camera', () => {
  let release: (() => void) | undefined;
  let cam: RunningFakeCamera | undefined;
  let client: GvcpClient | undefined;
  let xml = '';
  let map: NodeMap;

  beforeAll(async () => {
    release = await acquireFakeCameraLock();
    try {
      cam = await startAravisFakeCamera({ ip: IP, serial: 'GENICAM1' });
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n(this file holds ${FAKE_CAMERA_LOCK}: every test file that starts a fake camera on ${IP} must take it too, see test/helpers/fakeCameraLock.ts)`,
        { cause: e },
      );
    }
    client = await GvcpClient.connect(IP, FAST);
    await client.openControl();
    xml = (await fetchGenicamXml(client)).xml;
    map = NodeMap.fromXml(xml, gvcpPort(client));
  });

  afterAll(async () => {
    try {
      await client?.close();
      await cam?.stop();
    } finally {
      release?.();
    }
  });

  it('resolves the standard features the fake camera describes, with their types', async () => {
    const types = Object.fromEntries(map.features().map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      Width: 'Integer',
      Height: 'Integer',
      OffsetX: 'Integer',
      OffsetY: 'Integer',
      PixelFormat: 'Enumeration',
      ExposureTimeAbs: 'Float',
      GainRaw: 'Integer',
      AcquisitionMode: 'Enumeration',
      AcquisitionStart: 'Command',
      AcquisitionStop: 'Command',
      TriggerMode: 'Enumeration',
      TriggerSource: 'Enumeration',
      TriggerSoftware: 'Command',
      PayloadSize: 'IntSwissKnife',
      DeviceVendorName: 'StringReg',
      StructEntry_0_15: 'StructEntry',
    });
    // Aravis 0.8's fake camera XML has none of these (SFNC names a real camera would have).
    for (const absent of ['ExposureTime', 'Gain', 'GevSCPSPacketSize', 'GevSCPD'])
      expect(map.has(absent)).toBe(false);
    expect(map.duplicates).toEqual([]);

    expect(await map.getString('DeviceVendorName')).toBe('Aravis');
    expect(await map.getString('DeviceModelName')).toBe('Fake');
    const sensorWidth = await map.getInteger('SensorWidth');
    expect(sensorWidth).toBeGreaterThan(0);
    expect(await map.integerRange('Width')).toEqual({ min: 1, max: sensorWidth, inc: 1 });
    expect(await map.getInteger('Width')).toBe(await client!.readRegister(WIDTH_REGISTER));
    expect(await map.getInteger('OffsetX')).toBeGreaterThanOrEqual(0);
    expect(await map.getInteger('OffsetY')).toBeGreaterThanOrEqual(0);
    expect(await map.getFloat('ExposureTimeAbs')).toBeGreaterThan(0);
    expect(await map.getInteger('GainRaw')).toBeGreaterThanOrEqual(0);
    expect(await map.getEnum('AcquisitionMode')).toMatch(/^(Continuous|SingleFrame|MultiFrame)$/);
    expect(await map.getEnum('TriggerMode')).toMatch(/^(On|Off)$/);
    expect(await map.getEnum('TriggerSource')).toMatch(/^(Line0|Software)$/);
    expect(await map.accessMode('AcquisitionStart')).toBe('WO');
    expect(await map.accessMode('SensorWidth')).toBe('RO');

    // Every readable value node reads without error (all references in the XML resolve).
    for (const { name, type } of map.features()) {
      if ((await map.accessMode(name)) === 'WO') continue;
      if (
        ['Integer', 'IntReg', 'MaskedIntReg', 'StructEntry', 'IntSwissKnife', 'IntConverter'].includes(type)
      )
        expect(Number.isFinite(await map.getInteger(name)), name).toBe(true);
      else if (['Float', 'Converter', 'SwissKnife', 'FloatReg'].includes(type))
        expect(Number.isNaN(await map.getFloat(name)), name).toBe(false);
      else if (type === 'Enumeration')
        expect(await map.enumEntries(name), name).toContain(await map.getEnum(name));
      else if (type === 'StringReg') expect(typeof (await map.getString(name)), name).toBe('string');
      else if (type === 'Boolean') expect(typeof (await map.getBoolean(name)), name).toBe('boolean');
    }
  });

  it('sets Width and Height by name: the camera reports the new values in its registers', async () => {
    const c = client!;
    const [w0, h0] = [await map.getInteger('Width'), await map.getInteger('Height')];
    const w = w0 === 320 ? 640 : 320;
    const h = h0 === 240 ? 480 : 240;
    await map.setInteger('Width', w);
    await map.setInteger('Height', h);
    expect(await c.readRegister(WIDTH_REGISTER)).toBe(w);
    expect(await c.readRegister(HEIGHT_REGISTER)).toBe(h);
    // A fresh node map over a second connection sees the same.
    const other = await GvcpClient.connect(IP, FAST);
    try {
      const fresh = NodeMap.fromXml(xml, gvcpPort(other));
      expect(await fresh.getInteger('Width')).toBe(w);
      expect(await fresh.getInteger('Height')).toBe(h);
    } finally {
      await other.close();
    }
    const bpp = ((await map.getEnumValue('PixelFormat')) >> 16) & 0xff;
    expect(await map.getInteger('PayloadSize')).toBe((w * h * bpp) / 8);
    await map.setInteger('Width', w0);
    await map.setInteger('Height', h0);
    expect(await c.readRegister(WIDTH_REGISTER)).toBe(w0);
  });

  it('refuses Width out of range with the allowed range, leaving the register alone', async () => {
    const before = await client!.readRegister(WIDTH_REGISTER);
    const max = await map.getInteger('SensorWidth');
    const e = await rejection(map.setInteger('Width', max + 1));
    expect(e.message).toBe(`GenICam feature Width: ${max + 1} is out of range 1..${max}`);
    expect(e.describe()).toMatch(new RegExp(`fix: choose a value in 1\\.\\.${max}`));
    expect((await rejection(map.setInteger('Width', 0))).message).toMatch(/0 is out of range/);
    expect((await rejection(map.setInteger('SensorWidth', 10))).message).toMatch(/read-only \(RO\)/);
    expect(await client!.readRegister(WIDTH_REGISTER)).toBe(before);
  });

  it('lists and sets PixelFormat entries', async () => {
    expect(await map.enumEntries('PixelFormat')).toEqual([
      'BayerBG8',
      'BayerGB8',
      'BayerGR8',
      'BayerRG8',
      'Mono8',
      'RGB8',
      'Mono16',
    ]);
    const before = await map.getEnum('PixelFormat');
    await map.setEnum('PixelFormat', 'Mono16');
    expect(await client!.readRegister(PIXEL_FORMAT_REGISTER)).toBe(0x01100007);
    expect(await map.getEnum('PixelFormat')).toBe('Mono16');
    await map.setEnum('PixelFormat', 'Mono8');
    expect(await client!.readRegister(PIXEL_FORMAT_REGISTER)).toBe(0x01080001);
    const e = await rejection(map.setEnum('PixelFormat', 'Mono12'));
    expect(e.message).toMatch(/"Mono12" is not an entry; allowed: BayerBG8, .*Mono8, RGB8, Mono16/);
    await map.setEnum('PixelFormat', before);
  });

  it('sets trigger and acquisition features and runs commands', async () => {
    await map.setEnum('TriggerSource', 'Software');
    expect(await map.getEnum('TriggerSource')).toBe('Software');
    await map.setEnum('TriggerMode', 'On');
    expect(await map.getEnum('TriggerMode')).toBe('On');
    await map.setEnum('AcquisitionMode', 'SingleFrame');
    expect(await map.getEnum('AcquisitionMode')).toBe('SingleFrame');
    await map.setFloat('ExposureTimeAbs', 5000);
    expect(await map.getFloat('ExposureTimeAbs')).toBe(5000);
    expect((await rejection(map.setFloat('ExposureTimeAbs', 1))).message).toMatch(
      /1 is out of range 10\.\.10000000/,
    );
    await map.execute('TriggerSoftware');
    await map.execute('AcquisitionStop');
    expect((await rejection(map.getInteger('AcquisitionCommandRegister'))).message).toMatch(/write-only/);
    await map.setEnum('TriggerMode', 'Off');
    await map.setEnum('AcquisitionMode', 'Continuous');
    await map.setBoolean('TestBoolean', true);
    expect(await client!.readRegister(0x1f0)).toBe(321);
    expect(await map.getBoolean('TestBoolean')).toBe(true);
  });

  it('evaluates the same XML over an in-memory copy of the registers', async () => {
    const port = new MemoryPort();
    const mem = NodeMap.fromXml(xml, port);
    port.setU32BE(0x11c, 2048); // SensorWidth
    port.setU32BE(0x118, 1536); // SensorHeight
    port.setU32BE(0x128, 0x01080001); // Mono8
    await mem.setInteger('Width', 1000);
    await mem.setInteger('Height', 500);
    expect(port.getU32BE(WIDTH_REGISTER)).toBe(1000);
    expect(await mem.getInteger('PayloadSize')).toBe(500_000);
    expect((await rejection(mem.setInteger('Width', 2049))).message).toMatch(/out of range 1\.\.2048/);
    // AcquisitionFrameRate: a Converter (1e6 / period) over an Integer with Min/Max.
    await mem.setFloat('AcquisitionFrameRate', 25);
    expect(port.getU32BE(0x138)).toBe(40_000);
    expect(await mem.getFloat('AcquisitionFrameRate')).toBe(25);
    expect(await mem.floatRange('AcquisitionFrameRate')).toEqual({ min: 0.1, max: 1000 });
    // TriggerMode's register moves with TriggerSelector (pIndex, Offset 0x20).
    await mem.setEnum('TriggerMode', 'On');
    expect(port.getU32BE(0x300)).toBe(1);
    await mem.setEnum('TriggerSelector', 'AcquisitionStart');
    expect(await mem.getEnum('TriggerMode')).toBe('Off');
    await mem.setEnum('TriggerMode', 'On');
    expect(port.getU32BE(0x320)).toBe(1);
    // The StructReg over TestRegister (big-endian bit numbering).
    port.setU32BE(0x1f0, 0xfffe8003);
    expect(await mem.getInteger('StructEntry_16_31')).toBe(-32765);
    expect(await mem.getInteger('StructEntry_0_15')).toBe(0xfffe);
    expect(await mem.getInteger('StructEntry_15')).toBe(0);
    expect(await mem.getInteger('StructEntry_0_31')).toBe(0xfffe8003);
    // Commands write their value.
    await mem.execute('AcquisitionStart');
    expect(port.getU32BE(0x124)).toBe(1);
  });
});
