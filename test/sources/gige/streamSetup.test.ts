/**
 * Stream channel setup against scripted devices (Aravis's fake camera has neither feature): packet size
 * negotiation with test packets, and the block id width of GigE Vision 2.x cameras.
 * device that fires test packets only up to a simulated MTU (Aravis's fake camera sends none).
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { GvcpCommand, type GvcpCommandPacket } from '../../../src/sources/gige/gvcp.js';
import { GvcpClient, GvcpRegister } from '../../../src/sources/gige/gvcpClient.js';
import { MIN_PACKET_SIZE, negotiatePacketSize } from '../../../src/sources/gige/packetSize.js';
import { encodeGvspLeader, encodeGvspPayload, encodeGvspTrailer } from '../../../src/sources/gige/gvsp.js';
import type { AssembledFrame } from '../../../src/sources/gige/gvspAssembler.js';
import { Pfnc } from '../../../src/sources/gige/pixelFormats.js';
import {
  ExtendedIdRegister,
  GvspStreamChannel,
  StreamChannelRegister,
} from '../../../src/sources/gige/streamChannel.js';
import { ScriptedDevice, ackFor, until } from '../../helpers/fakeCamera.js';

describe('negotiatePacketSize', () => {
  const passesUpTo = (mtu: number) => {
    const fired: number[] = [];
    return { fired, fire: async (size: number) => (fired.push(size), size <= mtu) };
  };

  it('keeps the wanted size after one test when it passes', async () => {
    const { fire, fired } = passesUpTo(9000);
    expect(await negotiatePacketSize(fire, 8000)).toEqual({ size: 8000, outcome: 'confirmed', tests: 1 });
    expect(fired).toEqual([8000]);
  });

  it('finds the largest passing size, to 4 bytes, when the path is narrower', async () => {
    for (const mtu of [1500, 1234, 577, 8999]) {
      const { fire } = passesUpTo(mtu);
      const r = await negotiatePacketSize(fire, 9000);
      expect(r.outcome).toBe('reduced');
      expect(r.size).toBeLessThanOrEqual(mtu);
      expect(r.size).toBeGreaterThan(mtu - 4);
      expect(r.size % 4).toBe(MIN_PACKET_SIZE % 4);
      expect(r.tests).toBeLessThanOrEqual(2 + 12);
    }
  });

  it('keeps the wanted size, untested, after two tries when the camera sends no test packets', async () => {
    const { fire, fired } = passesUpTo(0);
    expect(await negotiatePacketSize(fire, 1400)).toEqual({ size: 1400, outcome: 'untested', tests: 2 });
    expect(fired).toEqual([1400, MIN_PACKET_SIZE]);
  });
});

describe('GvspStreamChannel with test packets', () => {
  const closers: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  /** A device with registers in memory that fires test packets (from 127.0.0.1) up to `mtu` bytes. */
  async function device(mtu: number): Promise<{ client: GvcpClient; registers: Buffer; fired: number[] }> {
    const registers = Buffer.alloc(0x10000);
    registers.writeUInt32BE(3000, GvcpRegister.HEARTBEAT_TIMEOUT);
    const fired: number[] = [];
    const wire = dgram.createSocket('udp4');
    await new Promise<void>((r) => wire.bind(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => wire.close(() => r())));
    const dev = await ScriptedDevice.start((cmd: GvcpCommandPacket) => {
      const p = cmd.payload;
      if (cmd.command === GvcpCommand.READREG_CMD)
        return [ackFor(cmd, registers.subarray(p.readUInt32BE(0), p.readUInt32BE(0) + 4))];
      if (cmd.command !== GvcpCommand.WRITEREG_CMD) return [];
      const [addr, value] = [p.readUInt32BE(0), p.readUInt32BE(4)];
      if (addr === StreamChannelRegister.PACKET_SIZE && value & 0x80000000) {
        const size = value & 0xffff;
        fired.push(size);
        if (size <= mtu)
          wire.send(Buffer.alloc(size - 28), registers.readUInt32BE(StreamChannelRegister.PORT), '127.0.0.1');
        registers.writeUInt32BE((value & 0x7fffffff) >>> 0, addr);
      } else registers.writeUInt32BE(value >>> 0, addr);
      const ok = Buffer.alloc(4);
      ok.writeUInt32BE(1);
      return [ackFor(cmd, ok)];
    });
    closers.push(() => dev.close());
    const client = await GvcpClient.connect('127.0.0.1', { port: dev.port, timeoutMs: 200 });
    closers.push(() => client.close());
    return { client, registers, fired };
  }

  it('lowers the packet size to what the path carries, warns with the fix, and streams with it', async () => {
    const { client, registers, fired } = await device(1200);
    const warnings: string[] = [];
    const stream = await GvspStreamChannel.open(client, {
      hostAddress: '127.0.0.1',
      packetSize: 1400,
      testPacket: true,
      resend: 'never',
      log: { warn: (_o, m) => warnings.push(m) },
    });
    closers.push(() => stream.close());
    expect(stream.packetSize).toBeLessThanOrEqual(1200);
    expect(stream.packetSize).toBeGreaterThan(1196);
    expect(fired[0]).toBe(1400);
    // The camera is left streaming with the negotiated size and "do not fragment", test bit cleared.
    expect(registers.readUInt32BE(StreamChannelRegister.PACKET_SIZE)).toBe(
      (0x40000000 | stream.packetSize) >>> 0,
    );
    expect(warnings.join('\n')).toMatch(/1400 bytes do not reach this host.*jumbo frames/);
  });

  it('keeps the configured size when the test packet passes', async () => {
    const { client, registers, fired } = await device(9000);
    const stream = await GvspStreamChannel.open(client, {
      hostAddress: '127.0.0.1',
      packetSize: 8000,
      testPacket: true,
      resend: 'never',
    });
    closers.push(() => stream.close());
    expect(stream.packetSize).toBe(8000);
    expect(fired).toEqual([8000]);
    expect(registers.readUInt32BE(StreamChannelRegister.PACKET_SIZE) & 0xffff).toBe(8000);
  });
});

describe('GvspStreamChannel block id width (GigE Vision 2.x extended ids)', () => {
  const closers: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  /** A register device of the given version and GVSP capability, logging the registers read. */
  async function device(version: number, gvspCapability: number) {
    const registers = Buffer.alloc(0x10000);
    registers.writeUInt32BE(version >>> 0, ExtendedIdRegister.VERSION);
    registers.writeUInt32BE(gvspCapability >>> 0, ExtendedIdRegister.GVSP_CAPABILITY);
    const reads: number[] = [];
    const dev = await ScriptedDevice.start((cmd: GvcpCommandPacket) => {
      const p = cmd.payload;
      const ok = Buffer.alloc(4);
      if (cmd.command === GvcpCommand.READREG_CMD) {
        reads.push(p.readUInt32BE(0));
        return [ackFor(cmd, registers.subarray(p.readUInt32BE(0), p.readUInt32BE(0) + 4))];
      }
      if (cmd.command === GvcpCommand.WRITEREG_CMD)
        registers.writeUInt32BE(p.readUInt32BE(4), p.readUInt32BE(0));
      return [ackFor(cmd, ok)];
    });
    closers.push(() => dev.close());
    const client = await GvcpClient.connect('127.0.0.1', { port: dev.port, timeoutMs: 200 });
    closers.push(() => client.close());
    return { client, registers, reads };
  }

  it('turns 64-bit ids on for a 2.0 camera without 16-bit ids, and reassembles its extended-id frames', async () => {
    const { client, registers } = await device(0x00020000, 0);
    const stream = await GvspStreamChannel.open(client, {
      hostAddress: '127.0.0.1',
      packetSize: 1400,
      resend: 'never',
    });
    closers.push(() => stream.close());
    expect(
      registers.readUInt32BE(ExtendedIdRegister.GVSP_CONFIGURATION) & ExtendedIdRegister.ENABLE_64BIT,
    ).not.toBe(0);
    const frames: AssembledFrame[] = [];
    stream.on('frame', (f) => frames.push(f));
    // A 100x30 Mono8 image in packets of 1400 - 28 - 20 bytes, block id above 16 bits.
    const wire = dgram.createSocket('udp4');
    await new Promise<void>((r) => wire.bind(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => wire.close(() => r())));
    const image = Buffer.from(Array.from({ length: 3000 }, (_, i) => i & 0xff));
    const block = 0x1_0000_0005;
    const per = 1400 - 28 - 20;
    const packets = [
      encodeGvspLeader(
        block,
        { pixelFormat: Pfnc.Mono8, width: 100, height: 30, timestamp: 1n },
        { extendedId: true },
      ),
    ];
    for (let off = 0, id = 1; off < image.length; off += per, id++)
      packets.push(encodeGvspPayload(block, id, image.subarray(off, off + per), { extendedId: true }));
    packets.push(encodeGvspTrailer(block, packets.length, 30, { extendedId: true }));
    for (const p of packets) wire.send(p, stream.port, '127.0.0.1');
    await until(() => frames.length === 1, 'the frame', 5000);
    expect(frames[0]).toMatchObject({ blockId: block, complete: true });
    expect(frames[0].data.equals(image)).toBe(true);
  });

  it('keeps 16-bit ids for a 2.0 camera that still has them, and never reads 2.x registers of a 1.x camera', async () => {
    const v2 = await device(0x00020000, ExtendedIdRegister.LEGACY_16BIT_SUPPORTED);
    const s2 = await GvspStreamChannel.open(v2.client, { hostAddress: '127.0.0.1', resend: 'never' });
    closers.push(() => s2.close());
    expect(v2.registers.readUInt32BE(ExtendedIdRegister.GVSP_CONFIGURATION)).toBe(0);

    const v1 = await device(0x00010002, 0);
    const s1 = await GvspStreamChannel.open(v1.client, { hostAddress: '127.0.0.1', resend: 'never' });
    closers.push(() => s1.close());
    expect(v1.reads).not.toContain(ExtendedIdRegister.GVSP_CAPABILITY);
    await expect(
      GvspStreamChannel.open(v1.client, { hostAddress: '127.0.0.1', resend: 'never', extendedIds: 'on' }),
    ).rejects.toThrow(/GigE Vision 1\.x: it has no 64-bit block ids/);
  });
});
