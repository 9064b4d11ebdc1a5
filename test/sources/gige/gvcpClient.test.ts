/** The GVCP client against scripted devices on random loopback ports: retries, PENDING_ACK, hostile acks. */
import { afterEach, describe, expect, it } from 'vitest';
import { InspectdError } from '../../../src/core/errors.js';
import { fetchGenicamXml } from '../../../src/sources/gige/genicamXml.js';
import { GvcpCommand, GvcpError, encodeAck, type GvcpCommandPacket } from '../../../src/sources/gige/gvcp.js';
import { GvcpClient, GvcpRegister } from '../../../src/sources/gige/gvcpClient.js';
import { ScriptedDevice, ackFor, makeZip, until } from '../../helpers/fakeCamera.js';

const HOST = '127.0.0.1';
const devices: ScriptedDevice[] = [];
const clients: GvcpClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const d of devices.splice(0)) await d.close();
});

async function device(handler: Parameters<typeof ScriptedDevice.start>[0]): Promise<ScriptedDevice> {
  const d = await ScriptedDevice.start(handler);
  devices.push(d);
  return d;
}

async function client(
  d: ScriptedDevice,
  opts: Parameters<typeof GvcpClient.connect>[1] = {},
): Promise<GvcpClient> {
  const c = await GvcpClient.connect(HOST, { port: d.port, timeoutMs: 200, tries: 3, ...opts });
  clients.push(c);
  return c;
}

const u32 = (...v: number[]): Buffer => {
  const b = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => b.writeUInt32BE(x >>> 0, i * 4));
  return b;
};

/** A device with 64 KB of memory (registers are words in it) that answers READREG/WRITEREG/READMEM/WRITEMEM. */
function memoryHandler(mem: Buffer, opts: { denyCcpWrite?: boolean } = {}) {
  return (cmd: GvcpCommandPacket): Buffer[] => {
    const p = cmd.payload;
    switch (cmd.command) {
      case GvcpCommand.READREG_CMD: {
        const out: number[] = [];
        for (let i = 0; i < p.length; i += 4) out.push(mem.readUInt32BE(p.readUInt32BE(i)));
        return [ackFor(cmd, u32(...out))];
      }
      case GvcpCommand.WRITEREG_CMD: {
        const addr = p.readUInt32BE(0);
        if (opts.denyCcpWrite && addr === GvcpRegister.CCP) return [ackFor(cmd, u32(0), 0x8006)];
        mem.writeUInt32BE(p.readUInt32BE(4), addr);
        return [ackFor(cmd, u32(1))];
      }
      case GvcpCommand.READMEM_CMD: {
        const addr = p.readUInt32BE(0);
        const count = p.readUInt16BE(6);
        return [ackFor(cmd, Buffer.concat([u32(addr), mem.subarray(addr, addr + count)]))];
      }
      case GvcpCommand.WRITEMEM_CMD: {
        const addr = p.readUInt32BE(0);
        p.subarray(4).copy(mem, addr);
        return [ackFor(cmd, u32(p.length - 4))];
      }
      default:
        return [];
    }
  };
}

function newMemory(url = 'Local:cam.xml;8000;10'): Buffer {
  const mem = Buffer.alloc(0x10000);
  mem.writeUInt32BE(3000, GvcpRegister.HEARTBEAT_TIMEOUT);
  mem.write(url + '\0', 0x200, 'latin1');
  for (let i = 0x1000; i < 0x2000; i++) mem[i] = (i * 7) & 0xff;
  return mem;
}

describe('GvcpClient transactions', () => {
  it('retries a lost command with the same req_id', async () => {
    const mem = newMemory();
    const handler = memoryHandler(mem);
    const d = await device((cmd, n) => (n <= 2 ? [] : handler(cmd)));
    const c = await client(d);
    expect(await c.readRegister(GvcpRegister.HEARTBEAT_TIMEOUT)).toBe(3000);
    expect(d.received).toHaveLength(3);
    expect(new Set(d.received.map((r) => r.reqId)).size).toBe(1);
    expect(c.stats()).toMatchObject({ commands: 1, retries: 2, timeouts: 0 });
    // The next command gets the next req_id.
    await c.readRegister(GvcpRegister.HEARTBEAT_TIMEOUT);
    expect(d.received[3].reqId).toBe(d.received[0].reqId + 1);
  });

  it('waits longer when the device sends PENDING_ACK', async () => {
    const mem = newMemory();
    const handler = memoryHandler(mem);
    const d = await device((cmd, _n, send) => {
      const pending = encodeAck({ answer: GvcpCommand.PENDING_ACK, ackId: cmd.reqId, payload: u32(700) });
      // Two extensions, then the answer ~900 ms later: far past the 200 ms x 1 try without them.
      setTimeout(() => send(pending), 450);
      setTimeout(() => handler(cmd).forEach(send), 900);
      return [pending];
    });
    const c = await client(d, { tries: 1 });
    expect(await c.readRegister(GvcpRegister.HEARTBEAT_TIMEOUT)).toBe(3000);
    expect(c.stats()).toMatchObject({ pendingAcks: 2, retries: 0 });
  });

  it('fails with a TIMEOUT naming the camera when nothing answers', async () => {
    const d = await device(() => []);
    const c = await client(d, { timeoutMs: 100, tries: 2 });
    const err = await c.readRegister(0xa00).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GvcpError);
    expect((err as GvcpError).code).toBe('TIMEOUT');
    expect((err as GvcpError).message).toBe(
      `READREG 0x00000a00: no answer from GigE camera 127.0.0.1:${d.port} after 2 tries of 100 ms`,
    );
    expect((err as GvcpError).details.fix).toMatch(/UDP 3956/);
    expect(d.received).toHaveLength(2);
  });

  it('ignores garbage, stale and foreign acks before the real one', async () => {
    const mem = newMemory();
    const handler = memoryHandler(mem);
    const d = await device((cmd) => [
      Buffer.from('garbage'),
      encodeAck({ answer: 0x81, ackId: cmd.reqId, payload: Buffer.alloc(0) }).subarray(0, 6),
      Buffer.from('0000008100ff0001', 'hex'), // declares 255 bytes, has none
      encodeAck({ answer: 0x81, ackId: (cmd.reqId + 100) & 0xffff, payload: u32(666) }), // stale
      ...handler(cmd),
    ]);
    const c = await client(d);
    expect(await c.readRegister(GvcpRegister.HEARTBEAT_TIMEOUT)).toBe(3000);
    await until(() => c.stats().malformed >= 3, 'malformed acks counted', 5000);
    expect(c.stats()).toMatchObject({ stale: 1, retries: 0 });
  });

  it('turns bad answers into typed errors: status, wrong command, lying READMEM', async () => {
    const d = await device((cmd) => {
      if (cmd.command === GvcpCommand.READREG_CMD) return [ackFor(cmd, Buffer.alloc(0), 0x8003)];
      if (cmd.command === GvcpCommand.WRITEREG_CMD) return [encodeAck({ answer: 0x85, ackId: cmd.reqId })];
      // READMEM: answers for another address.
      return [ackFor(cmd, Buffer.concat([u32(0x9990), Buffer.alloc(8)]))];
    });
    const c = await client(d);
    const e1 = (await c.readRegister(0x4).catch((e: unknown) => e)) as GvcpError;
    expect(e1.code).toBe('STATUS');
    expect(e1.message).toBe('READREG 0x00000004 on GigE camera 127.0.0.1 failed: INVALID_ADDRESS (0x8003)');
    expect(e1.details.fix).toMatch(/GenICam XML/);
    const e2 = (await c.writeRegister(0x4, 1).catch((e: unknown) => e)) as GvcpError;
    expect(e2.code).toBe('UNEXPECTED_ANSWER');
    const e3 = (await c.readMemory(0x8, 8).catch((e: unknown) => e)) as GvcpError;
    expect(e3.code).toBe('BAD_PAYLOAD');
  });

  it('reads and writes memory in chunks of at most 536 bytes', async () => {
    const mem = newMemory();
    const d = await device(memoryHandler(mem));
    const c = await client(d);
    const got = await c.readMemory(0x1000, 2000);
    expect(got.equals(mem.subarray(0x1000, 0x1000 + 2000))).toBe(true);
    const counts = d.received.map((r) => r.payload.readUInt16BE(6));
    expect(counts).toEqual([536, 536, 536, 392]);
    expect(d.received.map((r) => r.payload.readUInt32BE(0))).toEqual([0x1000, 0x1218, 0x1430, 0x1648]);

    const data = Buffer.alloc(1200, 0x5a);
    await c.writeMemory(0x4000, data);
    expect(mem.subarray(0x4000, 0x4000 + 1200).equals(data)).toBe(true);
    expect(d.received.slice(4).map((r) => r.payload.length - 4)).toEqual([536, 536, 128]);

    await expect(c.readMemory(2, 4)).rejects.toThrow(/not 4-byte aligned/);
    await expect(c.readMemory(0, 2 ** 30)).rejects.toThrow(/out of range/);
    await expect(c.readMemory(0xfffffff0, 32)).rejects.toThrow(/out of range/);
    await expect(c.writeMemory(0, Buffer.alloc(6))).rejects.toThrow(/not a multiple of 4/);
    expect(await c.readMemory(0, 0)).toEqual(Buffer.alloc(0));
  });

  it('reads several registers in one packet when the device announces concatenation', async () => {
    const mem = newMemory();
    mem.writeUInt32BE(0x1, GvcpRegister.GVCP_CAPABILITY); // CONCATENATION
    const d = await device(memoryHandler(mem));
    const c = await client(d);
    await c.readCapabilities();
    const addrs = Array.from({ length: 200 }, (_, i) => 0x1000 + 4 * i);
    const values = await c.readRegisters(addrs);
    expect(values).toEqual(addrs.map((a) => mem.readUInt32BE(a)));
    expect(d.received.slice(1).map((r) => r.payload.length / 4)).toEqual([135, 65]);
  });

  it('rejects commands after close, and close does not wait for a dead device', async () => {
    const d = await device(() => []);
    const c = await client(d, { timeoutMs: 5000, tries: 3 });
    const inflight = c.readRegister(0).catch((e: unknown) => e);
    await until(() => d.received.length === 1, 'the command to arrive', 5000);
    await c.close();
    expect(((await inflight) as GvcpError).code).toBe('CLOSED');
    await expect(c.readRegister(0)).rejects.toMatchObject({ code: 'CLOSED' });
    await c.close();
  });
});

describe('GvcpClient control', () => {
  it('names ACCESS_DENIED and the fix when the device refuses control', async () => {
    const d = await device(memoryHandler(newMemory(), { denyCcpWrite: true }));
    const c = await client(d);
    const err = (await c.openControl().catch((e: unknown) => e)) as GvcpError;
    expect(err).toBeInstanceOf(GvcpError);
    expect(err.status).toBe(0x8006);
    expect(err.message).toBe(
      'cannot take control of GigE camera 127.0.0.1: another host holds it; the camera answered ACCESS_DENIED (0x8006) writing CCP 0x0a00',
    );
    expect(err.describe()).toMatch(
      /fix: close the other application .* heartbeat timeout \(3000 ms on this camera\)/,
    );
    expect(c.hasControl).toBe(false);
  });

  it('emits lost when the device drops this host (CCP reads 0), releases control on close', async () => {
    const mem = newMemory();
    const d = await device(memoryHandler(mem));
    const c = await client(d, { heartbeatIntervalMs: 50 });
    await c.openControl();
    expect(mem.readUInt32BE(GvcpRegister.CCP)).toBe(2);
    const lost: Error[] = [];
    c.on('lost', (e) => lost.push(e));
    await until(() => c.stats().heartbeats >= 2, 'heartbeats', 5000);
    mem.writeUInt32BE(0, GvcpRegister.CCP); // as after a heartbeat timeout on the device
    await until(() => lost.length === 1, "'lost'", 5000);
    expect(lost[0].message).toBe('lost control of GigE camera 127.0.0.1: CCP reads 0x00000000');
    expect(c.hasControl).toBe(false);

    await c.openControl();
    expect(mem.readUInt32BE(GvcpRegister.CCP)).toBe(2);
    await c.close();
    expect(mem.readUInt32BE(GvcpRegister.CCP)).toBe(0);
  });
});

describe('fetchGenicamXml', () => {
  const xml =
    '<?xml version="1.0"?>\n<RegisterDescription ModelName="X"><Integer Name="Width"/></RegisterDescription>';

  async function serving(url: string, file: Buffer): Promise<GvcpClient> {
    const mem = newMemory(url);
    file.copy(mem, 0x8000);
    return client(await device(memoryHandler(mem)));
  }

  it('reads a Local: XML (odd length) and a Local: ZIP', async () => {
    const plain = Buffer.from(xml);
    const c1 = await serving(`Local:cam.xml;8000;${plain.length.toString(16)}`, plain);
    expect(await fetchGenicamXml(c1)).toEqual({
      url: `Local:cam.xml;8000;${plain.length.toString(16)}`,
      fileName: 'cam.xml',
      xml,
    });
    const zip = makeZip([{ name: 'cam.xml', data: Buffer.from('\uFEFF' + xml) }]);
    const c2 = await serving(`local:///cam.zip;0x8000;${zip.length.toString(16)}?SchemaVersion=1.1.0`, zip);
    expect((await fetchGenicamXml(c2)).xml).toBe(xml);
  });

  it('explains unsupported File: and http: URLs and absurd lengths', async () => {
    for (const [url, re] of [
      ['File:///C:/Program Files/Acme/cam.xml', /uses a 'file:' scheme, which is not supported/],
      ['http://www.acme.com/cam.zip', /uses a 'http:' scheme, which is not supported/],
      ['Local:cam.xml;8000;2000000', /declares 33554432 bytes, outside 1\.\.16777216/],
      ['garbage', /unknown scheme/],
    ] as const) {
      const c = await serving(url, Buffer.alloc(0));
      const err = (await fetchGenicamXml(c).catch((e: unknown) => e)) as InspectdError;
      expect(err).toBeInstanceOf(InspectdError);
      expect(err.message).toMatch(re);
      expect(err.details.fix).toBeTruthy();
    }
    const c = await serving('File:x.xml', Buffer.alloc(0));
    const err = (await fetchGenicamXml(c).catch((e: unknown) => e)) as InspectdError;
    expect(err.describe()).toMatch(/point the camera at its built-in XML/);
  });
});
