import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../src/core/random.js';
import {
  GvcpCommand,
  GvcpError,
  decodeCommand,
  decodePacketResendCmd,
  encodePacketResendCmd,
} from '../../../src/sources/gige/gvcp.js';
import {
  GvspError,
  decodeGvspPacket,
  encodeGvspHeader,
  encodeGvspLeader,
  encodeGvspPayload,
  encodeGvspTrailer,
} from '../../../src/sources/gige/gvsp.js';
import {
  GvspAssembler,
  type AssembledFrame,
  type GvspAssemblerOptions,
  type ResendRequest,
} from '../../../src/sources/gige/gvspAssembler.js';
import { Pfnc } from '../../../src/sources/gige/pixelFormats.js';

const P = 100; // payload bytes per packet in these tests

/** The packets of one Mono8 image: leader, payload packets of P bytes, trailer. */
function framePackets(blockId: number, width: number, height: number, seed = blockId, extendedId = false) {
  const image = Buffer.alloc(width * height);
  for (let i = 0; i < image.length; i++) image[i] = (i * 7 + seed) & 0xff;
  const packets = [
    encodeGvspLeader(blockId, { pixelFormat: Pfnc.Mono8, width, height, timestamp: 42n }, { extendedId }),
  ];
  let id = 1;
  for (let off = 0; off < image.length; off += P)
    packets.push(encodeGvspPayload(blockId, id++, image.subarray(off, off + P), { extendedId }));
  packets.push(encodeGvspTrailer(blockId, id, height, { extendedId }));
  return { image, packets };
}

function assembler(opts: Partial<GvspAssemblerOptions> = {}) {
  const frames: AssembledFrame[] = [];
  const resends: ResendRequest[] = [];
  const a = new GvspAssembler({ packetPayloadSize: P, resend: (r) => resends.push(r), ...opts }, (f) =>
    frames.push(f),
  );
  return { a, frames, resends };
}

describe('GVSP packet decoding', () => {
  it('decodes a standard image leader, payload and trailer', () => {
    const leader = decodeGvspPacket(
      encodeGvspLeader(0x1234, {
        pixelFormat: Pfnc.BayerRG8,
        width: 640,
        height: 480,
        offsetX: 8,
        offsetY: 4,
        paddingX: 2,
        paddingY: 6,
        timestamp: 0x0102030405060708n,
      }),
    );
    expect(leader).toMatchObject({
      kind: 'leader',
      header: { status: 0, blockId: 0x1234, format: 1, packetId: 0, extendedId: false, headerSize: 8 },
      leader: {
        payloadType: 1,
        timestamp: 0x0102030405060708n,
        pixelFormat: Pfnc.BayerRG8,
        width: 640,
        height: 480,
        offsetX: 8,
        offsetY: 4,
        paddingX: 2,
        paddingY: 6,
      },
    });
    const payload = decodeGvspPacket(encodeGvspPayload(7, 0xabcdef, Buffer.from([1, 2, 3])));
    expect(payload).toMatchObject({ kind: 'payload', header: { blockId: 7, packetId: 0xabcdef, format: 3 } });
    expect(payload.kind === 'payload' && [...payload.data]).toEqual([1, 2, 3]);
    expect(decodeGvspPacket(encodeGvspTrailer(7, 9, 480))).toMatchObject({
      kind: 'trailer',
      header: { packetId: 9, format: 2 },
      payloadType: 1,
      sizeY: 480,
    });
  });

  it('decodes extended-ID packets (64-bit block id, 32-bit packet id)', () => {
    const p = decodeGvspPacket(
      encodeGvspPayload(2 ** 40 + 5, 0x12345678, Buffer.alloc(4), { extendedId: true }),
    );
    expect(p.header).toMatchObject({
      blockId: 2 ** 40 + 5,
      packetId: 0x12345678,
      extendedId: true,
      headerSize: 20,
    });
    const l = decodeGvspPacket(
      encodeGvspLeader(2 ** 33, { pixelFormat: Pfnc.Mono8, width: 2, height: 2 }, { extendedId: true }),
    );
    expect(l).toMatchObject({ kind: 'leader', header: { blockId: 2 ** 33 }, leader: { width: 2 } });
  });

  it('rejects truncated, unknown and unsupported packets with typed errors', () => {
    const code = (b: Buffer): string | undefined => {
      try {
        decodeGvspPacket(b);
        return undefined;
      } catch (e) {
        expect(e).toBeInstanceOf(GvspError);
        return (e as GvspError).code;
      }
    };
    expect(code(Buffer.alloc(7))).toBe('TRUNCATED');
    const ext = encodeGvspHeader({ blockId: 1, format: 3, packetId: 1, extendedId: true });
    expect(code(ext.subarray(0, 12))).toBe('TRUNCATED');
    const big = Buffer.from(ext);
    big.writeBigUInt64BE(2n ** 60n, 8);
    expect(code(big)).toBe('BAD_PAYLOAD');
    expect(code(encodeGvspLeader(1, { pixelFormat: Pfnc.Mono8, width: 4, height: 4 }).subarray(0, 30))).toBe(
      'TRUNCATED',
    );
    expect(code(encodeGvspLeader(1, { pixelFormat: Pfnc.Mono8, width: 0, height: 4 }))).toBe('BAD_PAYLOAD');
    expect(
      code(encodeGvspLeader(1, { pixelFormat: Pfnc.Mono8, width: 4, height: 4, payloadType: 0x4001 })),
    ).toBe('UNSUPPORTED');
    expect(code(encodeGvspHeader({ blockId: 1, format: 4, packetId: 0 }))).toBe('UNSUPPORTED');
    expect(code(encodeGvspHeader({ blockId: 1, format: 9, packetId: 0 }))).toBe('BAD_FORMAT');
    expect(code(encodeGvspHeader({ blockId: 1, format: 2, packetId: 3 }))).toBe('TRUNCATED');
  });
});

describe('PACKETRESEND_CMD', () => {
  it('encodes the standard and extended layouts, without ack', () => {
    const b = encodePacketResendCmd(9, { channel: 0, blockId: 0xbeef, firstPacketId: 3, lastPacketId: 17 });
    expect(b.toString('hex')).toBe('42000040000c0009' + '0000beef' + '00000003' + '00000011');
    const cmd = decodeCommand(b);
    expect(cmd.command).toBe(GvcpCommand.PACKETRESEND_CMD);
    expect(decodePacketResendCmd(cmd)).toEqual({
      channel: 0,
      blockId: 0xbeef,
      firstPacketId: 3,
      lastPacketId: 17,
      extendedId: false,
    });
    const x = encodePacketResendCmd(1, {
      channel: 1,
      blockId: 2 ** 40,
      firstPacketId: 2 ** 30,
      lastPacketId: 2 ** 31,
      extendedId: true,
    });
    expect(x[1]).toBe(0x10);
    expect(decodePacketResendCmd(decodeCommand(x))).toEqual({
      channel: 1,
      blockId: 2 ** 40,
      firstPacketId: 2 ** 30,
      lastPacketId: 2 ** 31,
      extendedId: true,
    });
    for (const bad of [
      { channel: 0, blockId: 0x10000, firstPacketId: 1, lastPacketId: 1 },
      { channel: 0, blockId: 1, firstPacketId: 0x1000000, lastPacketId: 0x1000000 },
      { channel: 0, blockId: 1, firstPacketId: 5, lastPacketId: 4 },
    ])
      expect(() => encodePacketResendCmd(1, bad)).toThrow(GvcpError);
  });
});

describe('GVSP frame assembly', () => {
  it('assembles in order and out of order, completes without waiting for the trailer', () => {
    const { a, frames } = assembler();
    const f1 = framePackets(1, 30, 20); // 600 bytes: 6 packets
    for (const p of f1.packets) a.push(p, 0);
    const f2 = framePackets(2, 30, 20);
    const shuffled = [...f2.packets].reverse();
    for (const p of shuffled) a.push(p, 1);
    expect(frames.map((f) => f.blockId)).toEqual([1, 2]);
    expect(frames[0].data.equals(f1.image)).toBe(true);
    expect(frames[1].data.equals(f2.image)).toBe(true); // payload before its leader: stashed, then placed
    expect(frames[0]).toMatchObject({
      complete: true,
      missingPackets: 0,
      leader: { width: 30, height: 20, timestamp: 42n },
    });
    expect(a.stats()).toMatchObject({ framesComplete: 2, packetsLate: 1, framesIncomplete: 0 });
    expect(a.inFlight).toBe(0);
  });

  it('asks for missing packets, the leader included, and counts recovered frames', () => {
    const { a, frames, resends } = assembler({ packetTimeoutMs: 5, resendIntervalMs: 10, maxResendRatio: 1 });
    const { image, packets } = framePackets(5, 30, 20);
    const lost = new Set([0, 2, 3, 6]); // leader, two payloads in a row, the last payload
    for (const [i, p] of packets.entries()) if (!lost.has(i)) a.push(p, 0);
    a.tick(1); // no leader: ask for it
    expect(resends).toEqual([{ blockId: 5, firstPacketId: 0, lastPacketId: 0, extendedId: false }]);
    a.push(packets[0], 2);
    a.tick(20); // quiet and leader known: the gaps, as ranges
    expect(resends.slice(1)).toEqual([
      { blockId: 5, firstPacketId: 2, lastPacketId: 3, extendedId: false },
      { blockId: 5, firstPacketId: 6, lastPacketId: 6, extendedId: false },
    ]);
    for (const i of [2, 3, 6]) a.push(packets[i], 21);
    a.push(packets[2], 22); // a duplicate, late: ignored
    expect(frames).toHaveLength(1);
    expect(frames[0].data.equals(image)).toBe(true);
    expect(a.stats()).toMatchObject({
      framesComplete: 1,
      framesRecovered: 1,
      resendRequests: 3,
      resendPackets: 4,
      packetsLate: 1,
    });
  });

  it('does not ask again for a frame missing more than maxResendRatio', () => {
    const { a, resends } = assembler({ packetTimeoutMs: 5, maxResendRatio: 0.25 });
    const { packets } = framePackets(4, 30, 20);
    for (const [i, p] of packets.entries()) if (![2, 3, 4].includes(i)) a.push(p, 0);
    a.tick(10);
    expect(resends).toEqual([]);
    expect(a.stats().resendsSkipped).toBe(1);
  });

  it("after a starved event loop, waits a tick before taking the newest frame's silence for loss", () => {
    const { a, resends } = assembler({
      packetTimeoutMs: 5,
      resendIntervalMs: 1,
      loopStallMs: 20,
      maxResendRatio: 1,
    });
    const { packets } = framePackets(6, 30, 20);
    // Leader and the first payload arrived; the rest is still in the socket buffer when the loop wakes up.
    a.push(packets[0], 0);
    a.push(packets[1], 0);
    a.tick(1);
    a.tick(100); // 99 ms since the last tick: a stall, not silence
    expect(resends).toEqual([]);
    a.tick(105); // a normal tick and still nothing new: now the tail is missing
    expect(resends).toEqual([{ blockId: 6, firstPacketId: 2, lastPacketId: 6, extendedId: false }]);
  });

  it('checks a frame above maxResendRatio again once more of it has arrived', () => {
    const { a, resends } = assembler({ packetTimeoutMs: 5, resendIntervalMs: 10, maxResendRatio: 0.25 });
    const { packets } = framePackets(7, 30, 20);
    for (const i of [0, 1, 7]) a.push(packets[i], 0); // leader, one payload, trailer: 5 of 6 missing
    a.tick(10);
    expect(resends).toEqual([]);
    for (const i of [2, 3, 4, 6]) a.push(packets[i], 11); // the late ones arrive: 1 of 6 missing
    a.tick(25);
    expect(resends).toEqual([{ blockId: 7, firstPacketId: 5, lastPacketId: 5, extendedId: false }]);
    expect(a.stats().resendsSkipped).toBe(1);
  });

  it('gives up at the frame timeout, delivering incomplete frames only when asked', () => {
    for (const deliverIncomplete of [false, true]) {
      const { a, frames } = assembler({ frameTimeoutMs: 100, deliverIncomplete, resend: undefined });
      const { packets } = framePackets(3, 30, 20);
      for (const [i, p] of packets.entries()) if (i !== 4) a.push(p, 0);
      a.tick(50);
      expect(frames).toHaveLength(0);
      a.tick(101);
      expect(a.stats()).toMatchObject({ framesIncomplete: 1, resendRequests: 0 });
      expect(frames).toHaveLength(deliverIncomplete ? 1 : 0);
      if (deliverIncomplete) expect(frames[0]).toMatchObject({ complete: false, missingPackets: 1 });
    }
  });

  it('rejects a leader announcing more than maxFrameBytes, without allocating it', () => {
    const { a, frames } = assembler({ maxFrameBytes: 1024 * 1024 });
    a.push(encodeGvspLeader(1, { pixelFormat: Pfnc.RGB8, width: 0xffffffff, height: 0xffffffff }), 0); // 4 GB x 4 GB
    a.push(encodeGvspLeader(2, { pixelFormat: Pfnc.Mono8, width: 65536, height: 65536 }), 0); // 4 GB
    a.push(encodeGvspPayload(2, 1, Buffer.alloc(P)), 0); // late for a rejected frame
    expect(a.stats()).toMatchObject({ leadersRejected: 2, packetsLate: 1 });
    expect(a.heldBytes).toBe(0);
    expect(frames).toEqual([]);
  });

  it('bounds frames in flight, evicting the oldest', () => {
    const { a } = assembler({ maxFramesInFlight: 3, resend: undefined });
    for (let b = 1; b <= 10; b++) a.push(framePackets(b, 30, 20).packets[0], b);
    expect(a.inFlight).toBe(3);
    expect(a.stats()).toMatchObject({ framesEvicted: 7, framesIncomplete: 7 });
  });

  it('drops packet ids beyond the frame and oversized payloads', () => {
    const { a } = assembler();
    a.push(framePackets(1, 30, 20).packets[0], 0);
    a.push(encodeGvspPayload(1, 7, Buffer.alloc(10)), 0); // n = 6
    a.push(encodeGvspPayload(1, 2, Buffer.alloc(P + 1)), 0);
    a.push(encodeGvspPayload(9, 0xffffff, Buffer.alloc(10)), 0); // cannot open a frame
    expect(a.stats()).toMatchObject({ packetsOutOfRange: 3 });
  });

  it('survives random, truncated and hostile packets with bounded memory (fuzz)', () => {
    const rand = mulberry32(20240607);
    const maxFrameBytes = 256 * 1024;
    const { a, frames } = assembler({ maxFrameBytes, maxFramesInFlight: 4, deliverIncomplete: true });
    const int = (n: number): number => Math.floor(rand() * n);
    let maxHeld = 0;
    const good = framePackets(1, 30, 20);
    for (let i = 0; i < 50_000; i++) {
      let pkt: Buffer;
      const kind = int(8);
      if (kind === 0) {
        pkt = Buffer.alloc(int(64));
        for (let k = 0; k < pkt.length; k++) pkt[k] = int(256);
      } else if (kind === 1) {
        // Hostile leader: any size, any format.
        pkt = encodeGvspLeader(int(0x10000), {
          pixelFormat: int(2) ? Pfnc.Mono8 : int(0x100000000),
          width: int(2) ? int(0x100000000) : int(600) + 1,
          height: int(2) ? int(0x100000000) : int(400) + 1,
          paddingX: int(0x10000),
          paddingY: int(0x10000),
        });
      } else if (kind === 2) {
        pkt = encodeGvspPayload(
          int(0x10000),
          int(2) ? int(0x1000000) : int(3000),
          Buffer.alloc(int(P + 20)),
          {
            status: int(4) === 0 ? 0x800c : 0,
          },
        );
      } else if (kind === 3) {
        pkt = good.packets[int(good.packets.length)]; // duplicates of a real frame
      } else if (kind === 4) {
        const p = good.packets[int(good.packets.length)];
        pkt = p.subarray(0, int(p.length + 1)); // truncated
      } else if (kind === 5) {
        pkt = encodeGvspHeader({
          blockId: int(0x10000),
          format: int(16),
          packetId: int(0x1000000),
          extendedId: int(2) === 0,
        });
      } else if (kind === 6) {
        pkt = encodeGvspPayload(int(2 ** 40), int(2 ** 32), Buffer.alloc(int(P)), { extendedId: true });
      } else {
        pkt = encodeGvspTrailer(int(0x10000), int(0x1000000), int(0x100000000));
      }
      a.push(pkt, i);
      if (i % 97 === 0) a.tick(i);
      maxHeld = Math.max(maxHeld, a.heldBytes);
      expect(a.inFlight).toBeLessThanOrEqual(4);
    }
    expect(maxHeld).toBeLessThanOrEqual(4 * maxFrameBytes);
    const s = a.stats();
    expect(s.packets).toBe(50_000);
    expect(s.leadersRejected).toBeGreaterThan(0);
    expect(s.packetsMalformed).toBeGreaterThan(0);
    for (const f of frames) expect(f.data.length).toBeLessThanOrEqual(maxFrameBytes);
  });
});
