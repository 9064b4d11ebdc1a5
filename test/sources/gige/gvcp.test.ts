import { describe, expect, it } from 'vitest';
import {
  DISCOVERY_ACK_SIZE,
  GVCP_MAX_MEM_DATA,
  GVCP_MAX_PACKET,
  GvcpCommand,
  GvcpError,
  checkAckStatus,
  decodeAck,
  decodeCommand,
  decodeDiscoveryAck,
  decodePendingAck,
  decodeReadMemAck,
  decodeReadRegAck,
  decodeWriteAck,
  encodeAck,
  encodeDiscoveryCmd,
  encodeReadMemCmd,
  encodeReadRegCmd,
  encodeWriteMemCmd,
  encodeWriteRegCmd,
  gvcpStatusName,
  parseBootstrapBlock,
} from '../../../src/sources/gige/gvcp.js';
import { rng } from '../../helpers/random.js';

const bytes = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ''), 'hex');

function discoveryPayload(): Buffer {
  const p = Buffer.alloc(DISCOVERY_ACK_SIZE);
  p.writeUInt16BE(2, 0x00);
  p.writeUInt16BE(1, 0x02);
  p.writeUInt32BE(0x80000001, 0x04);
  bytes('00a0b1c2d3e4').copy(p, 0x0a);
  bytes('c0a80a14').copy(p, 0x24);
  bytes('ffffff00').copy(p, 0x34);
  bytes('c0a80a01').copy(p, 0x44);
  p.write('Acme Vision', 0x48, 'latin1');
  p.write('GX-1000', 0x68, 'latin1');
  p.write('1.2.3', 0x88, 'latin1');
  p.write('made in tests', 0xa8, 'latin1');
  p.write('SN0123456789ABCD', 0xd8, 'latin1'); // all 16 bytes: no NUL
  p.write('line-3', 0xe8, 'latin1');
  return p;
}

describe('GVCP encoding', () => {
  it('encodes the command header big-endian: key, flags, command, length, req_id', () => {
    expect(encodeDiscoveryCmd(0x1234).toString('hex')).toBe('4201000200001234');
    expect(encodeDiscoveryCmd(1, { allowBroadcastAck: true }).toString('hex')).toBe('4211000200000001');
    expect(encodeReadRegCmd(7, [0x0a00, 0x0938]).toString('hex')).toBe(
      '42010080000800070000' + '0a0000000938',
    );
    expect(encodeWriteRegCmd(8, [{ address: 0x0a00, value: 2 }]).toString('hex')).toBe(
      '420100820008000800000a0000000002',
    );
    expect(
      encodeWriteRegCmd(8, [{ address: 0x100, value: -1 }])
        .subarray(12)
        .toString('hex'),
    ).toBe('ffffffff');
    expect(encodeReadMemCmd(9, 0x10000, 536).toString('hex')).toBe(
      '4201008400080009' + '00010000' + '0000' + '0218',
    );
    expect(encodeWriteMemCmd(10, 0x100, bytes('00000140')).toString('hex')).toBe(
      '420100860008000a0000010000000140',
    );
  });

  it('round-trips commands through decodeCommand', () => {
    const c = decodeCommand(encodeReadMemCmd(0xffff, 0x200, 512));
    expect(c).toMatchObject({ flags: 1, command: GvcpCommand.READMEM_CMD, reqId: 0xffff });
    expect(c.payload.toString('hex')).toBe('0000020000000200');
  });

  it('rejects what GVCP cannot express', () => {
    const bad: (() => unknown)[] = [
      () => encodeDiscoveryCmd(0),
      () => encodeDiscoveryCmd(0x10000),
      () => encodeReadRegCmd(1, []),
      () => encodeReadRegCmd(1, new Array(136).fill(0)),
      () => encodeReadRegCmd(1, [0x102]),
      () => encodeReadRegCmd(1, [-4]),
      () => encodeReadRegCmd(1, [0x1_0000_0000]),
      () => encodeWriteRegCmd(1, [{ address: 0, value: 2 ** 32 }]),
      () => encodeWriteRegCmd(1, [{ address: 0, value: 1.5 }]),
      () => encodeReadMemCmd(1, 0, 0),
      () => encodeReadMemCmd(1, 0, 6),
      () => encodeReadMemCmd(1, 0, GVCP_MAX_MEM_DATA + 4),
      () => encodeWriteMemCmd(1, 0, Buffer.alloc(540)),
      () => encodeWriteMemCmd(1, 2, Buffer.alloc(4)),
    ];
    for (const f of bad) {
      expect(f).toThrow(GvcpError);
      try {
        f();
      } catch (e) {
        expect((e as GvcpError).code).toBe('BAD_ARGUMENT');
        expect((e as GvcpError).details.fix).toBeTruthy();
      }
    }
    expect(() => encodeReadMemCmd(1, 0, GVCP_MAX_MEM_DATA)).not.toThrow();
    expect(() => encodeReadRegCmd(1, new Array(135).fill(0))).not.toThrow();
  });
});

describe('GVCP decoding', () => {
  it('decodes acks of each command', () => {
    const rr = decodeAck(bytes('0000 0081 0008 0005 00000bb8 00000002'));
    expect(rr).toMatchObject({ status: 0, answer: 0x81, ackId: 5 });
    expect(decodeReadRegAck(rr, 2)).toEqual([3000, 2]);
    expect(decodeWriteAck(decodeAck(bytes('0000 0083 0004 0006 0000 0001')), 0x83)).toEqual({ index: 1 });
    const rm = decodeAck(bytes('0000 0085 0008 0007 00000200 4c6f6361'));
    expect(decodeReadMemAck(rm, 0x200, 4).toString()).toBe('Loca');
    expect(decodePendingAck(decodeAck(bytes('0000 0089 0004 0008 0000 07d0')))).toEqual({
      timeToCompletionMs: 2000,
    });
  });

  it('parses the discovery block', () => {
    const ack = decodeAck(
      encodeAck({ answer: GvcpCommand.DISCOVERY_ACK, ackId: 1, payload: discoveryPayload() }),
    );
    expect(decodeDiscoveryAck(ack)).toEqual({
      specVersion: { major: 2, minor: 1 },
      deviceMode: 0x80000001,
      mac: '00:a0:b1:c2:d3:e4',
      ip: '192.168.10.20',
      subnet: '255.255.255.0',
      gateway: '192.168.10.1',
      manufacturer: 'Acme Vision',
      model: 'GX-1000',
      deviceVersion: '1.2.3',
      manufacturerInfo: 'made in tests',
      serial: 'SN0123456789ABCD',
      userName: 'line-3',
    });
  });

  it('names status codes', () => {
    expect(gvcpStatusName(0x8006)).toBe('ACCESS_DENIED (0x8006)');
    expect(gvcpStatusName(0x8003)).toBe('INVALID_ADDRESS (0x8003)');
    expect(gvcpStatusName(0x8001)).toBe('NOT_IMPLEMENTED (0x8001)');
    expect(gvcpStatusName(0x8123)).toBe('UNKNOWN (0x8123)');
    const ack = decodeAck(bytes('8006 0083 0000 0001'));
    expect(() => checkAckStatus(ack, 'WRITEREG CCP')).toThrow(
      /WRITEREG CCP failed: device answered ACCESS_DENIED/,
    );
  });

  it('throws typed errors for truncated, oversized, lying and mismatched packets', () => {
    const code = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(GvcpError);
        return (e as GvcpError).code;
      }
      return 'no error';
    };
    expect(code(() => decodeAck(Buffer.alloc(0)))).toBe('TRUNCATED');
    expect(code(() => decodeAck(bytes('0000 0081 0004')))).toBe('TRUNCATED');
    expect(code(() => decodeAck(bytes('0000 0081 0008 0001 00000001')))).toBe('TRUNCATED'); // declares 8, has 4
    expect(code(() => decodeAck(bytes('0000 0085 ffff 0001 00000000')))).toBe('OVERSIZED'); // declares 65535
    expect(code(() => decodeAck(Buffer.alloc(GVCP_MAX_PACKET + 1)))).toBe('OVERSIZED');
    expect(code(() => decodeCommand(bytes('4301 0080 0000 0001')))).toBe('BAD_KEY');
    expect(code(() => decodeCommand(bytes('4201 0080 0004 0001')))).toBe('TRUNCATED');
    const rr = decodeAck(bytes('0000 0081 0004 0005 00000bb8'));
    expect(code(() => decodeReadRegAck(rr, 2))).toBe('BAD_PAYLOAD');
    expect(code(() => decodeWriteAck(rr, 0x83))).toBe('UNEXPECTED_ANSWER');
    const rm = decodeAck(bytes('0000 0085 0008 0007 00000204 4c6f6361'));
    expect(code(() => decodeReadMemAck(rm, 0x200, 4))).toBe('BAD_PAYLOAD'); // other address
    expect(code(() => decodeReadMemAck(rm, 0x204, 8))).toBe('BAD_PAYLOAD'); // short data
    expect(code(() => decodeReadMemAck(decodeAck(bytes('0000 0085 0002 0007 0000')), 0, 4))).toBe(
      'TRUNCATED',
    );
    const shortDisc = decodeAck(encodeAck({ answer: 3, ackId: 1, payload: Buffer.alloc(100) }));
    expect(code(() => decodeDiscoveryAck(shortDisc))).toBe('TRUNCATED');
    expect(code(() => parseBootstrapBlock(Buffer.alloc(247)))).toBe('TRUNCATED');
  });

  it('ignores trailing bytes beyond the declared length (payload is exactly the declared length)', () => {
    const ack = decodeAck(bytes('0000 0081 0004 0005 00000bb8 deadbeef'));
    expect(ack.payload.length).toBe(4);
    expect(decodeReadRegAck(ack, 1)).toEqual([3000]);
  });
});

describe('GVCP decoder fuzz', () => {
  /** Runs every decoder on `buf`; anything but a GvcpError fails. Returns whether it was accepted. */
  function decodeAll(buf: Buffer): void {
    const attempts: (() => unknown)[] = [
      () => decodeCommand(buf),
      () => {
        const ack = decodeAck(buf);
        expect(ack.payload.length).toBeLessThanOrEqual(buf.length - 8);
        const tries: (() => unknown)[] = [
          () => decodeReadRegAck(ack, 1),
          () => decodeReadRegAck(ack, Math.max(1, ack.payload.length >> 2)),
          () => decodeWriteAck(ack, GvcpCommand.WRITEREG_ACK),
          () => decodeWriteAck(ack, GvcpCommand.WRITEMEM_ACK),
          () => {
            const data = decodeReadMemAck(
              ack,
              ack.payload.length >= 4 ? ack.payload.readUInt32BE(0) : 0,
              536,
            );
            expect(data.length).toBe(536);
          },
          () => decodeReadMemAck(ack, 0, 0xfffffffc),
          () => decodePendingAck(ack),
          () => decodeDiscoveryAck(ack),
          () => checkAckStatus(ack, 'fuzz'),
        ];
        for (const t of tries) expectOnlyGvcpError(t);
      },
    ];
    for (const a of attempts) expectOnlyGvcpError(a);
  }

  function expectOnlyGvcpError(f: () => unknown): void {
    try {
      f();
    } catch (e) {
      if (!(e instanceof GvcpError)) throw e;
    }
  }

  it('survives random, truncated and mutated packets with only GvcpErrors', () => {
    const next = rng(0x6e7c9);
    const valid = [
      encodeAck({ answer: GvcpCommand.READREG_ACK, ackId: 3, payload: bytes('00000bb800000002') }),
      encodeAck({ answer: GvcpCommand.READMEM_ACK, ackId: 4, payload: Buffer.alloc(540, 0x41) }),
      encodeAck({ answer: GvcpCommand.WRITEREG_ACK, ackId: 5, payload: bytes('00000001') }),
      encodeAck({ answer: GvcpCommand.PENDING_ACK, ackId: 6, payload: bytes('00000064') }),
      encodeAck({ answer: GvcpCommand.DISCOVERY_ACK, ackId: 7, payload: discoveryPayload() }),
      encodeReadMemCmd(9, 0x200, 512),
      encodeWriteRegCmd(10, [{ address: 0xa00, value: 2 }]),
    ];
    const heapBefore = process.memoryUsage().arrayBuffers;
    let n = 0;
    for (let i = 0; i < 4000; i++) {
      // Random garbage of random size (some over the GVCP limit).
      const len = Math.floor(next() * 700);
      const junk = Buffer.alloc(len);
      for (let j = 0; j < len; j++) junk[j] = Math.floor(next() * 256);
      decodeAll(junk);
      // A valid packet, truncated.
      const base = valid[i % valid.length];
      decodeAll(base.subarray(0, Math.floor(next() * base.length)));
      // A valid packet with 1..8 random bytes changed (lengths, ids, answers...).
      const m = Buffer.from(base);
      const flips = 1 + Math.floor(next() * 8);
      for (let k = 0; k < flips; k++) m[Math.floor(next() * m.length)] = Math.floor(next() * 256);
      decodeAll(m);
      // Its length field set to anything.
      const l = Buffer.from(base);
      l.writeUInt16BE(Math.floor(next() * 0x10000), 4);
      decodeAll(l);
      n += 4;
    }
    expect(n).toBe(16000);
    // Nothing sized from a length field: no growth worth a big allocation.
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(32 * 1024 * 1024);
  });

  it('rejects hostile declared lengths without allocating them', () => {
    // A READMEM ack claiming 65535 payload bytes in a 12-byte datagram.
    expect(() => decodeAck(bytes('0000 0085 ffff 0001 00000000'))).toThrow(GvcpError);
    // A READMEM ack whose data would be 4 GB if asked for: the decoder compares, never allocates.
    const ack = decodeAck(
      encodeAck({ answer: GvcpCommand.READMEM_ACK, ackId: 1, payload: bytes('00000000 01020304') }),
    );
    expect(() => decodeReadMemAck(ack, 0, 0xffffffff)).toThrow(/carries 4 data bytes, expected 4294967295/);
    // A READREG ack asked to yield 2^30 values.
    expect(() => decodeReadRegAck(decodeAck(bytes('0000 0081 0004 0005 00000bb8')), 2 ** 30)).toThrow(
      GvcpError,
    );
    // A 64 KB datagram (over the GVCP size): refused before any parsing.
    expect(() => decodeAck(Buffer.alloc(65507))).toThrow(/exceeds/);
  });
});
