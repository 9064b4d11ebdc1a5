/**
 * GVSP (GigE Vision Streaming Protocol) packets: pure, big-endian decoders, no I/O.
 *
 * Every packet is hostile until checked: lengths are verified before each read, payload data is a view into
 * the received datagram, and nothing here allocates from a size a packet declares.
 *
 * Standard header (8 bytes): status(16) | block_id(16) | EI(1) reserved(3) packet_format(4) | packet_id(24).
 * Extended-ID header (EI = 1, 20 bytes): status(16) | flags(16) | EI+format(8) | reserved(24) |
 * block_id(64) | packet_id(32).
 */
import { InspectdError } from '../../core/errors.js';

export const GVSP_HEADER_SIZE = 8;
export const GVSP_EXTENDED_HEADER_SIZE = 20;
/** IP (20) + UDP (8) bytes in front of every GVSP header: the SCPS packet size counts them. */
export const IP_UDP_OVERHEAD = 28;

export const GvspPacketFormat = {
  LEADER: 1,
  TRAILER: 2,
  PAYLOAD: 3,
  ALL_IN: 4,
} as const;

/** Payload types (leader/trailer). Only images are decoded; the others are reported as unsupported. */
export const GvspPayloadType = {
  IMAGE: 0x0001,
  RAW_DATA: 0x0002,
  FILE: 0x0003,
  CHUNK_DATA: 0x0004,
} as const;

/** Bit of the payload type that says chunk data follows the image (GigE Vision 2.x "extended chunk"). */
export const GVSP_PAYLOAD_TYPE_CHUNK_FLAG = 0x4000;

export type GvspErrorCode =
  /** Shorter than its header or than its packet format needs. */
  | 'TRUNCATED'
  /** A packet format this decoder does not know (or a reserved value). */
  | 'BAD_FORMAT'
  /** A well-formed packet of something not handled (non-image payload, all-in, chunk data). */
  | 'UNSUPPORTED'
  /** Fields that cannot be right (zero size, a block id beyond 2^53...). */
  | 'BAD_PAYLOAD';

export class GvspError extends InspectdError {
  constructor(
    readonly code: GvspErrorCode,
    message: string,
    details: { subject?: string; value?: unknown; fix?: string; cause?: unknown } = {},
  ) {
    super(message, details);
    this.name = 'GvspError';
  }
}

export interface GvspHeader {
  /** GVSP status; 0 = success, 0x0100 = resent packet is not an error, 0x8xxx = error. */
  status: number;
  /** Block (frame) id: 16-bit in standard mode (0 is invalid there), up to 2^53 in extended-ID mode. */
  blockId: number;
  format: number;
  packetId: number;
  extendedId: boolean;
  headerSize: number;
}

export interface GvspImageLeader {
  payloadType: number;
  /** Device timestamp in ticks (see the camera's timestamp tick frequency). */
  timestamp: bigint;
  /** PFNC pixel format code. */
  pixelFormat: number;
  width: number;
  height: number;
  offsetX: number;
  offsetY: number;
  paddingX: number;
  paddingY: number;
}

export type GvspPacket =
  | { kind: 'leader'; header: GvspHeader; leader: GvspImageLeader }
  | { kind: 'trailer'; header: GvspHeader; payloadType: number; sizeY: number | undefined }
  | { kind: 'payload'; header: GvspHeader; data: Buffer };

const hex = (n: number, digits = 4): string => `0x${(n >>> 0).toString(16).padStart(digits, '0')}`;

/** Decodes the common header; throws a {@link GvspError} when the datagram cannot hold it. */
export function decodeGvspHeader(buf: Buffer): GvspHeader {
  if (buf.length < GVSP_HEADER_SIZE)
    throw new GvspError('TRUNCATED', `GVSP packet of ${buf.length} bytes is shorter than its 8-byte header`, {
      value: buf.length,
    });
  const status = buf.readUInt16BE(0);
  const b4 = buf.readUInt8(4);
  const extendedId = (b4 & 0x80) !== 0;
  const format = b4 & 0x0f;
  if (!extendedId)
    return {
      status,
      blockId: buf.readUInt16BE(2),
      format,
      packetId: buf.readUIntBE(5, 3),
      extendedId,
      headerSize: GVSP_HEADER_SIZE,
    };
  if (buf.length < GVSP_EXTENDED_HEADER_SIZE)
    throw new GvspError(
      'TRUNCATED',
      `extended-ID GVSP packet of ${buf.length} bytes is shorter than its 20-byte header`,
      { value: buf.length },
    );
  const block = buf.readBigUInt64BE(8);
  if (block > BigInt(Number.MAX_SAFE_INTEGER))
    throw new GvspError('BAD_PAYLOAD', `GVSP block id ${block} is beyond 2^53`, { value: block });
  return {
    status,
    blockId: Number(block),
    format,
    packetId: buf.readUInt32BE(16),
    extendedId,
    headerSize: GVSP_EXTENDED_HEADER_SIZE,
  };
}

/** Image leader body: reserved(16) type(16) ts(64) pixfmt(32) x y ox oy (32 each) padx pady (16 each). */
export const GVSP_IMAGE_LEADER_SIZE = 36;

/** Decodes one datagram. Payload data is a view into `buf` (copy it before reusing the buffer). */
export function decodeGvspPacket(buf: Buffer): GvspPacket {
  const header = decodeGvspHeader(buf);
  const body = buf.subarray(header.headerSize);
  switch (header.format) {
    case GvspPacketFormat.LEADER: {
      if (body.length < 4)
        throw new GvspError('TRUNCATED', `GVSP leader body of ${body.length} bytes has no payload type`);
      const payloadType = body.readUInt16BE(2);
      if (payloadType !== GvspPayloadType.IMAGE)
        throw new GvspError('UNSUPPORTED', `GVSP payload type ${hex(payloadType)} is not a plain image`, {
          value: payloadType,
          fix:
            (payloadType & GVSP_PAYLOAD_TYPE_CHUNK_FLAG) !== 0
              ? 'turn chunk mode off on the camera (ChunkModeActive = false)'
              : 'set the camera to stream images',
        });
      if (body.length < GVSP_IMAGE_LEADER_SIZE)
        throw new GvspError(
          'TRUNCATED',
          `GVSP image leader body of ${body.length} bytes, expected ${GVSP_IMAGE_LEADER_SIZE}`,
          { value: body.length },
        );
      const leader: GvspImageLeader = {
        payloadType,
        timestamp: body.readBigUInt64BE(4),
        pixelFormat: body.readUInt32BE(12),
        width: body.readUInt32BE(16),
        height: body.readUInt32BE(20),
        offsetX: body.readUInt32BE(24),
        offsetY: body.readUInt32BE(28),
        paddingX: body.readUInt16BE(32),
        paddingY: body.readUInt16BE(34),
      };
      if (leader.width === 0 || leader.height === 0)
        throw new GvspError('BAD_PAYLOAD', `GVSP leader announces a ${leader.width}x${leader.height} image`);
      return { kind: 'leader', header, leader };
    }
    case GvspPacketFormat.TRAILER: {
      if (body.length < 4)
        throw new GvspError('TRUNCATED', `GVSP trailer body of ${body.length} bytes has no payload type`);
      const payloadType = body.readUInt16BE(2);
      return {
        kind: 'trailer',
        header,
        payloadType,
        sizeY: body.length >= 8 ? body.readUInt32BE(4) : undefined,
      };
    }
    case GvspPacketFormat.PAYLOAD:
      return { kind: 'payload', header, data: body };
    case GvspPacketFormat.ALL_IN:
      throw new GvspError('UNSUPPORTED', 'GVSP all-in packets are not supported', {
        fix: 'use a packet size smaller than the image (the default)',
      });
    default:
      throw new GvspError('BAD_FORMAT', `GVSP packet format ${header.format} is unknown`, {
        value: header.format,
      });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Encoders, for test devices and the fuzz tests (a device sends these; the host never does).

export function encodeGvspHeader(h: {
  status?: number;
  blockId: number;
  format: number;
  packetId: number;
  extendedId?: boolean;
}): Buffer {
  if (!h.extendedId) {
    const b = Buffer.alloc(GVSP_HEADER_SIZE);
    b.writeUInt16BE(h.status ?? 0, 0);
    b.writeUInt16BE(h.blockId & 0xffff, 2);
    b.writeUInt8(h.format & 0x0f, 4);
    b.writeUIntBE(h.packetId & 0xffffff, 5, 3);
    return b;
  }
  const b = Buffer.alloc(GVSP_EXTENDED_HEADER_SIZE);
  b.writeUInt16BE(h.status ?? 0, 0);
  b.writeUInt8(0x80 | (h.format & 0x0f), 4);
  b.writeBigUInt64BE(BigInt(h.blockId), 8);
  b.writeUInt32BE(h.packetId >>> 0, 16);
  return b;
}

export function encodeGvspLeader(
  blockId: number,
  l: Partial<GvspImageLeader> & { pixelFormat: number; width: number; height: number },
  opts: { extendedId?: boolean } = {},
): Buffer {
  const body = Buffer.alloc(GVSP_IMAGE_LEADER_SIZE);
  body.writeUInt16BE(l.payloadType ?? GvspPayloadType.IMAGE, 2);
  body.writeBigUInt64BE(l.timestamp ?? 0n, 4);
  body.writeUInt32BE(l.pixelFormat >>> 0, 12);
  body.writeUInt32BE(l.width >>> 0, 16);
  body.writeUInt32BE(l.height >>> 0, 20);
  body.writeUInt32BE(l.offsetX ?? 0, 24);
  body.writeUInt32BE(l.offsetY ?? 0, 28);
  body.writeUInt16BE(l.paddingX ?? 0, 32);
  body.writeUInt16BE(l.paddingY ?? 0, 34);
  const header = encodeGvspHeader({
    blockId,
    format: GvspPacketFormat.LEADER,
    packetId: 0,
    extendedId: opts.extendedId,
  });
  return Buffer.concat([header, body]);
}

export function encodeGvspPayload(
  blockId: number,
  packetId: number,
  data: Buffer,
  opts: { extendedId?: boolean; status?: number } = {},
): Buffer {
  const header = encodeGvspHeader({ blockId, format: GvspPacketFormat.PAYLOAD, packetId, ...opts });
  return Buffer.concat([header, data]);
}

export function encodeGvspTrailer(
  blockId: number,
  packetId: number,
  sizeY: number,
  opts: { extendedId?: boolean } = {},
): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16BE(GvspPayloadType.IMAGE, 2);
  body.writeUInt32BE(sizeY >>> 0, 4);
  const header = encodeGvspHeader({
    blockId,
    format: GvspPacketFormat.TRAILER,
    packetId,
    extendedId: opts.extendedId,
  });
  return Buffer.concat([header, body]);
}
