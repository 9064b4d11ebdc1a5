/**
 * GVCP (GigE Vision Control Protocol) packets: pure, big-endian encoders and decoders, no I/O.
 *
 * Every decoder treats its input as hostile: it checks the real buffer length before each read, never sizes
 * an allocation from a length field (payloads are views into the received buffer), and throws a
 * {@link GvcpError} for anything malformed.
 */
import { InspectdError } from '../../core/errors.js';

export const GVCP_PORT = 3956;
/** First byte of every command ("key"). */
export const GVCP_KEY = 0x42;
export const GVCP_HEADER_SIZE = 8;
/** GVCP datagrams are at most 576 bytes on the wire (IP 20 + UDP 8 + GVCP 548). */
export const GVCP_MAX_PACKET = 548;
export const GVCP_MAX_PAYLOAD = GVCP_MAX_PACKET - GVCP_HEADER_SIZE; // 540
/** READMEM / WRITEMEM carry a 4-byte address before the data: 540 - 4 = 536 bytes of data per packet. */
export const GVCP_MAX_MEM_DATA = GVCP_MAX_PAYLOAD - 4; // 536
/** READREG: one 32-bit address per register. */
export const GVCP_MAX_READREG = GVCP_MAX_PAYLOAD / 4; // 135
/** WRITEREG: address/value pairs. */
export const GVCP_MAX_WRITEREG = Math.floor(GVCP_MAX_PAYLOAD / 8); // 67

/** Command flags (byte 1 of the command header). */
export const GvcpFlag = {
  ACK_REQUIRED: 0x01,
  /** DISCOVERY only: the device may broadcast its ack (it is on another subnet). */
  ALLOW_BROADCAST_ACK: 0x10,
} as const;

export const GvcpCommand = {
  DISCOVERY_CMD: 0x0002,
  DISCOVERY_ACK: 0x0003,
  FORCEIP_CMD: 0x0004,
  FORCEIP_ACK: 0x0005,
  PACKETRESEND_CMD: 0x0040,
  READREG_CMD: 0x0080,
  READREG_ACK: 0x0081,
  WRITEREG_CMD: 0x0082,
  WRITEREG_ACK: 0x0083,
  READMEM_CMD: 0x0084,
  READMEM_ACK: 0x0085,
  WRITEMEM_CMD: 0x0086,
  WRITEMEM_ACK: 0x0087,
  PENDING_ACK: 0x0089,
  EVENT_CMD: 0x00c0,
  EVENT_ACK: 0x00c1,
} as const;

/** GVCP status codes (GigE Vision 2.x, table "List of Standard Status Codes"). */
export const GVCP_STATUS_NAMES: Readonly<Record<number, string>> = {
  0x0000: 'SUCCESS',
  0x0100: 'PACKET_RESEND',
  0x8001: 'NOT_IMPLEMENTED',
  0x8002: 'INVALID_PARAMETER',
  0x8003: 'INVALID_ADDRESS',
  0x8004: 'WRITE_PROTECT',
  0x8005: 'BAD_ALIGNMENT',
  0x8006: 'ACCESS_DENIED',
  0x8007: 'BUSY',
  0x8008: 'LOCAL_PROBLEM',
  0x8009: 'MSG_MISMATCH',
  0x800a: 'INVALID_PROTOCOL',
  0x800b: 'NO_MSG',
  0x800c: 'PACKET_UNAVAILABLE',
  0x800d: 'DATA_OVERRUN',
  0x800e: 'INVALID_HEADER',
  0x800f: 'WRONG_CONFIG',
  0x8010: 'PACKET_NOT_YET_AVAILABLE',
  0x8011: 'PACKET_AND_PREV_REMOVED_FROM_MEMORY',
  0x8012: 'PACKET_REMOVED_FROM_MEMORY',
  0x8013: 'NO_REF_TIME',
  0x8014: 'PACKET_TEMPORARILY_UNAVAILABLE',
  0x8015: 'OVERFLOW',
  0x8016: 'ACTION_LATE',
  0x8017: 'LEADER_TRAILER_OVERFLOW',
  0x8fff: 'ERROR',
};

export const GVCP_STATUS_SUCCESS = 0x0000;
export const GVCP_STATUS_ACCESS_DENIED = 0x8006;

/** A readable name for a status code: `ACCESS_DENIED (0x8006)`, or `UNKNOWN (0x8123)`. */
export function gvcpStatusName(status: number): string {
  const name = GVCP_STATUS_NAMES[status] ?? 'UNKNOWN';
  return `${name} (0x${status.toString(16).padStart(4, '0')})`;
}

export type GvcpErrorCode =
  /** Shorter than its header or than what it declares. */
  | 'TRUNCATED'
  /** Longer than GVCP allows, or declaring more than GVCP allows. */
  | 'OVERSIZED'
  /** A command whose first byte is not 0x42. */
  | 'BAD_KEY'
  /** Well-formed header, but the payload does not fit the command (wrong size, wrong address...). */
  | 'BAD_PAYLOAD'
  /** An ack for another command than the one sent. */
  | 'UNEXPECTED_ANSWER'
  /** The device answered with a non-success status. */
  | 'STATUS'
  /** No answer after all retries. */
  | 'TIMEOUT'
  /** The caller asked for something GVCP cannot express (unaligned address, too many registers...). */
  | 'BAD_ARGUMENT'
  /** The client is closed. */
  | 'CLOSED';

/** Anything wrong on the GVCP level: a malformed packet, a device status, a timeout. */
export class GvcpError extends InspectdError {
  constructor(
    readonly code: GvcpErrorCode,
    message: string,
    details: { subject?: string; value?: unknown; fix?: string; cause?: unknown; status?: number } = {},
  ) {
    super(message, details);
    this.name = 'GvcpError';
    this.status = details.status;
  }
  /** The device's status code when `code` is STATUS. */
  readonly status: number | undefined;
  get statusName(): string | undefined {
    return this.status === undefined ? undefined : gvcpStatusName(this.status);
  }
}

const hex = (n: number, digits = 4): string => `0x${(n >>> 0).toString(16).padStart(digits, '0')}`;

// ---------------------------------------------------------------------------------------------------------
// Commands (host -> device)

export interface GvcpCommandPacket {
  flags: number;
  command: number;
  reqId: number;
  payload: Buffer;
}

function checkReqId(reqId: number): void {
  if (!Number.isInteger(reqId) || reqId < 1 || reqId > 0xffff)
    throw new GvcpError('BAD_ARGUMENT', `GVCP req_id ${reqId} is out of range`, {
      subject: 'req_id',
      value: reqId,
      fix: 'use 1..65535 (0 is reserved)',
    });
}

function checkAddress(address: number, what: string): void {
  if (!Number.isInteger(address) || address < 0 || address > 0xffffffff || address % 4 !== 0)
    throw new GvcpError(
      'BAD_ARGUMENT',
      `${what} address ${address} is not a 32-bit, 4-byte aligned address`,
      {
        subject: what,
        value: address,
        fix: 'use a multiple of 4 between 0 and 0xFFFFFFFC',
      },
    );
}

/** A command packet: header (key 0x42, flags, command, length, req_id) + payload. */
export function encodeCommand(p: GvcpCommandPacket): Buffer {
  checkReqId(p.reqId);
  if (p.payload.length > GVCP_MAX_PAYLOAD || p.payload.length % 4 !== 0)
    throw new GvcpError('BAD_ARGUMENT', `GVCP payload of ${p.payload.length} bytes cannot be sent`, {
      subject: 'payload',
      value: p.payload.length,
      fix: `send a multiple of 4 bytes, at most ${GVCP_MAX_PAYLOAD}`,
    });
  const buf = Buffer.alloc(GVCP_HEADER_SIZE + p.payload.length);
  buf.writeUInt8(GVCP_KEY, 0);
  buf.writeUInt8(p.flags & 0xff, 1);
  buf.writeUInt16BE(p.command, 2);
  buf.writeUInt16BE(p.payload.length, 4);
  buf.writeUInt16BE(p.reqId, 6);
  p.payload.copy(buf, GVCP_HEADER_SIZE);
  return buf;
}

export function encodeDiscoveryCmd(reqId: number, opts: { allowBroadcastAck?: boolean } = {}): Buffer {
  const flags = GvcpFlag.ACK_REQUIRED | (opts.allowBroadcastAck ? GvcpFlag.ALLOW_BROADCAST_ACK : 0);
  return encodeCommand({ flags, command: GvcpCommand.DISCOVERY_CMD, reqId, payload: Buffer.alloc(0) });
}

export function encodeReadRegCmd(reqId: number, addresses: readonly number[]): Buffer {
  if (addresses.length < 1 || addresses.length > GVCP_MAX_READREG)
    throw new GvcpError('BAD_ARGUMENT', `READREG of ${addresses.length} registers cannot be sent`, {
      subject: 'READREG',
      value: addresses.length,
      fix: `read 1..${GVCP_MAX_READREG} registers per packet`,
    });
  const payload = Buffer.alloc(addresses.length * 4);
  addresses.forEach((a, i) => {
    checkAddress(a, 'READREG');
    payload.writeUInt32BE(a, i * 4);
  });
  return encodeCommand({ flags: GvcpFlag.ACK_REQUIRED, command: GvcpCommand.READREG_CMD, reqId, payload });
}

export function encodeWriteRegCmd(
  reqId: number,
  writes: readonly { address: number; value: number }[],
): Buffer {
  if (writes.length < 1 || writes.length > GVCP_MAX_WRITEREG)
    throw new GvcpError('BAD_ARGUMENT', `WRITEREG of ${writes.length} registers cannot be sent`, {
      subject: 'WRITEREG',
      value: writes.length,
      fix: `write 1..${GVCP_MAX_WRITEREG} registers per packet`,
    });
  const payload = Buffer.alloc(writes.length * 8);
  writes.forEach(({ address, value }, i) => {
    checkAddress(address, 'WRITEREG');
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff)
      throw new GvcpError('BAD_ARGUMENT', `WRITEREG value ${value} at ${hex(address, 8)} is not 32-bit`, {
        subject: 'WRITEREG',
        value,
        fix: 'write an integer in 0..0xFFFFFFFF',
      });
    payload.writeUInt32BE(address, i * 8);
    payload.writeUInt32BE(value >>> 0, i * 8 + 4);
  });
  return encodeCommand({ flags: GvcpFlag.ACK_REQUIRED, command: GvcpCommand.WRITEREG_CMD, reqId, payload });
}

function checkMemCount(count: number, what: string): void {
  if (!Number.isInteger(count) || count < 4 || count > GVCP_MAX_MEM_DATA || count % 4 !== 0)
    throw new GvcpError('BAD_ARGUMENT', `${what} of ${count} bytes cannot be sent in one packet`, {
      subject: what,
      value: count,
      fix: `use a multiple of 4 between 4 and ${GVCP_MAX_MEM_DATA} (split larger blocks)`,
    });
}

export function encodeReadMemCmd(reqId: number, address: number, count: number): Buffer {
  checkAddress(address, 'READMEM');
  checkMemCount(count, 'READMEM');
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(address, 0);
  payload.writeUInt16BE(0, 4);
  payload.writeUInt16BE(count, 6);
  return encodeCommand({ flags: GvcpFlag.ACK_REQUIRED, command: GvcpCommand.READMEM_CMD, reqId, payload });
}

export function encodeWriteMemCmd(reqId: number, address: number, data: Buffer): Buffer {
  checkAddress(address, 'WRITEMEM');
  checkMemCount(data.length, 'WRITEMEM');
  const payload = Buffer.alloc(4 + data.length);
  payload.writeUInt32BE(address, 0);
  data.copy(payload, 4);
  return encodeCommand({ flags: GvcpFlag.ACK_REQUIRED, command: GvcpCommand.WRITEMEM_CMD, reqId, payload });
}

/** Parses a command packet (what a device receives); used by test devices and for symmetry. */
export function decodeCommand(buf: Buffer): GvcpCommandPacket {
  if (buf.length < GVCP_HEADER_SIZE)
    throw new GvcpError('TRUNCATED', `GVCP command of ${buf.length} bytes is shorter than its 8-byte header`);
  if (buf.length > GVCP_MAX_PACKET)
    throw new GvcpError('OVERSIZED', `GVCP command of ${buf.length} bytes exceeds ${GVCP_MAX_PACKET}`);
  const key = buf.readUInt8(0);
  if (key !== GVCP_KEY)
    throw new GvcpError('BAD_KEY', `GVCP command key is ${hex(key, 2)}, expected 0x42`, { value: key });
  const length = buf.readUInt16BE(4);
  if (GVCP_HEADER_SIZE + length > buf.length)
    throw new GvcpError('TRUNCATED', `GVCP command declares ${length} payload bytes, has ${buf.length - 8}`);
  return {
    flags: buf.readUInt8(1),
    command: buf.readUInt16BE(2),
    reqId: buf.readUInt16BE(6),
    payload: buf.subarray(GVCP_HEADER_SIZE, GVCP_HEADER_SIZE + length),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Acks (device -> host)

export interface GvcpAck {
  status: number;
  answer: number;
  ackId: number;
  /** A view into the received buffer, exactly the declared length. */
  payload: Buffer;
}

/** Parses an ack header and bounds the payload by both the declared length and the real buffer. */
export function decodeAck(buf: Buffer): GvcpAck {
  if (buf.length < GVCP_HEADER_SIZE)
    throw new GvcpError('TRUNCATED', `GVCP ack of ${buf.length} bytes is shorter than its 8-byte header`, {
      value: buf.length,
    });
  if (buf.length > GVCP_MAX_PACKET)
    throw new GvcpError(
      'OVERSIZED',
      `GVCP ack of ${buf.length} bytes exceeds the ${GVCP_MAX_PACKET}-byte limit`,
      {
        value: buf.length,
      },
    );
  const length = buf.readUInt16BE(4);
  if (length > GVCP_MAX_PAYLOAD)
    throw new GvcpError(
      'OVERSIZED',
      `GVCP ack declares ${length} payload bytes, more than ${GVCP_MAX_PAYLOAD}`,
      {
        value: length,
      },
    );
  if (GVCP_HEADER_SIZE + length > buf.length)
    throw new GvcpError(
      'TRUNCATED',
      `GVCP ack declares ${length} payload bytes but carries ${buf.length - GVCP_HEADER_SIZE}`,
      { value: length },
    );
  return {
    status: buf.readUInt16BE(0),
    answer: buf.readUInt16BE(2),
    ackId: buf.readUInt16BE(6),
    payload: buf.subarray(GVCP_HEADER_SIZE, GVCP_HEADER_SIZE + length),
  };
}

/** Encodes an ack (what a device sends); for test devices. */
export function encodeAck(a: { status?: number; answer: number; ackId: number; payload?: Buffer }): Buffer {
  const payload = a.payload ?? Buffer.alloc(0);
  const buf = Buffer.alloc(GVCP_HEADER_SIZE + payload.length);
  buf.writeUInt16BE(a.status ?? 0, 0);
  buf.writeUInt16BE(a.answer, 2);
  buf.writeUInt16BE(payload.length, 4);
  buf.writeUInt16BE(a.ackId, 6);
  payload.copy(buf, GVCP_HEADER_SIZE);
  return buf;
}

/** Throws a STATUS error when the ack is not a success; `what` names the operation for the message. */
export function checkAckStatus(ack: GvcpAck, what: string): void {
  if (ack.status === GVCP_STATUS_SUCCESS) return;
  throw new GvcpError('STATUS', `${what} failed: device answered ${gvcpStatusName(ack.status)}`, {
    subject: what,
    value: ack.status,
    status: ack.status,
  });
}

function expectAnswer(ack: GvcpAck, answer: number): void {
  if (ack.answer !== answer)
    throw new GvcpError('UNEXPECTED_ANSWER', `GVCP ack is ${hex(ack.answer)}, expected ${hex(answer)}`, {
      value: ack.answer,
    });
}

/** READREG_ACK: one 32-bit value per requested address. */
export function decodeReadRegAck(ack: GvcpAck, count: number): number[] {
  expectAnswer(ack, GvcpCommand.READREG_ACK);
  if (ack.payload.length !== count * 4)
    throw new GvcpError(
      'BAD_PAYLOAD',
      `READREG ack carries ${ack.payload.length} bytes for ${count} registers`,
      {
        value: ack.payload.length,
      },
    );
  const values: number[] = [];
  for (let i = 0; i < count; i++) values.push(ack.payload.readUInt32BE(i * 4));
  return values;
}

/** WRITEREG_ACK / WRITEMEM_ACK: reserved(16) + index (registers written, or bytes for WRITEMEM). */
export function decodeWriteAck(ack: GvcpAck, answer: number): { index: number } {
  expectAnswer(ack, answer);
  if (ack.payload.length !== 4)
    throw new GvcpError('BAD_PAYLOAD', `write ack carries ${ack.payload.length} bytes, expected 4`, {
      value: ack.payload.length,
    });
  return { index: ack.payload.readUInt16BE(2) };
}

/** READMEM_ACK: the echoed address then exactly `count` data bytes (a view, no copy). */
export function decodeReadMemAck(ack: GvcpAck, address: number, count: number): Buffer {
  expectAnswer(ack, GvcpCommand.READMEM_ACK);
  if (ack.payload.length < 4)
    throw new GvcpError('TRUNCATED', `READMEM ack carries ${ack.payload.length} bytes, no address`);
  const echoed = ack.payload.readUInt32BE(0);
  if (echoed !== address >>> 0)
    throw new GvcpError('BAD_PAYLOAD', `READMEM ack is for ${hex(echoed, 8)}, expected ${hex(address, 8)}`, {
      value: echoed,
    });
  const data = ack.payload.subarray(4);
  if (data.length !== count)
    throw new GvcpError('BAD_PAYLOAD', `READMEM ack carries ${data.length} data bytes, expected ${count}`, {
      value: data.length,
    });
  return data;
}

/** PENDING_ACK: reserved(16) + time_to_completion in ms. */
export function decodePendingAck(ack: GvcpAck): { timeToCompletionMs: number } {
  expectAnswer(ack, GvcpCommand.PENDING_ACK);
  if (ack.payload.length !== 4)
    throw new GvcpError('BAD_PAYLOAD', `PENDING ack carries ${ack.payload.length} bytes, expected 4`, {
      value: ack.payload.length,
    });
  return { timeToCompletionMs: ack.payload.readUInt16BE(2) };
}

// ---------------------------------------------------------------------------------------------------------
// Discovery

/** The bootstrap block a DISCOVERY_ACK carries (bootstrap registers 0x0000..0x00F7). */
export const DISCOVERY_ACK_SIZE = 0xf8; // 248

export interface DiscoveryInfo {
  specVersion: { major: number; minor: number };
  deviceMode: number;
  /** `aa:bb:cc:dd:ee:ff` */
  mac: string;
  /** Dotted quad. */
  ip: string;
  subnet: string;
  gateway: string;
  manufacturer: string;
  model: string;
  deviceVersion: string;
  manufacturerInfo: string;
  serial: string;
  userName: string;
}

/** A NUL-terminated (or full-width) string field, printable ASCII/Latin-1 kept, trailing spaces trimmed. */
export function readCString(buf: Buffer, offset: number, size: number): string {
  const end = Math.min(buf.length, offset + size);
  if (offset >= end) return '';
  const field = buf.subarray(offset, end);
  const nul = field.indexOf(0);
  return field
    .subarray(0, nul < 0 ? field.length : nul)
    .toString('latin1')
    .replace(/[\x00-\x1f\x7f]/g, '')
    .trimEnd();
}

const ipv4 = (buf: Buffer, offset: number): string =>
  `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;

/** Parses the bootstrap layout (a DISCOVERY_ACK payload, or a READMEM of 0x0000..0x00F7). */
export function parseBootstrapBlock(p: Buffer): DiscoveryInfo {
  if (p.length < DISCOVERY_ACK_SIZE)
    throw new GvcpError(
      'TRUNCATED',
      `discovery data of ${p.length} bytes is shorter than ${DISCOVERY_ACK_SIZE}`,
      {
        value: p.length,
      },
    );
  const mac = [...p.subarray(0x0a, 0x10)].map((b) => b.toString(16).padStart(2, '0')).join(':');
  return {
    specVersion: { major: p.readUInt16BE(0x00), minor: p.readUInt16BE(0x02) },
    deviceMode: p.readUInt32BE(0x04),
    mac,
    ip: ipv4(p, 0x24),
    subnet: ipv4(p, 0x34),
    gateway: ipv4(p, 0x44),
    manufacturer: readCString(p, 0x48, 32),
    model: readCString(p, 0x68, 32),
    deviceVersion: readCString(p, 0x88, 32),
    manufacturerInfo: readCString(p, 0xa8, 48),
    serial: readCString(p, 0xd8, 16),
    userName: readCString(p, 0xe8, 16),
  };
}

export function decodeDiscoveryAck(ack: GvcpAck): DiscoveryInfo {
  expectAnswer(ack, GvcpCommand.DISCOVERY_ACK);
  checkAckStatus(ack, 'DISCOVERY');
  return parseBootstrapBlock(ack.payload);
}

// ---------------------------------------------------------------------------------------------------------
// Packet resend (host -> device, no ack: the device answers by resending the GVSP packets)

/** PACKETRESEND_CMD flag: the payload carries 64-bit block and 32-bit packet ids (extended-ID mode). */
export const GVCP_FLAG_EXTENDED_ID = 0x10;

export interface PacketResendRequest {
  /** Stream channel index (0 for the first channel). */
  channel: number;
  blockId: number;
  firstPacketId: number;
  lastPacketId: number;
  /** Extended-ID mode (64-bit block ids, 32-bit packet ids); standard mode has 16 and 24 bits. */
  extendedId?: boolean;
}

/**
 * PACKETRESEND_CMD. Standard payload (12 bytes): channel(16) block_id(16) | reserved(8) first(24) |
 * reserved(8) last(24). Extended (flag 0x10, 20 bytes): channel(16) reserved(16) | first(32) | last(32) |
 * block_id high(32) | block_id low(32). No ack is required.
 */
export function encodePacketResendCmd(reqId: number, r: PacketResendRequest): Buffer {
  const maxPacket = r.extendedId ? 0xffffffff : 0xffffff;
  const maxBlock = r.extendedId ? Number.MAX_SAFE_INTEGER : 0xffff;
  const bad = (what: string, value: number): GvcpError =>
    new GvcpError('BAD_ARGUMENT', `PACKETRESEND ${what} ${value} is out of range`, { subject: what, value });
  if (!Number.isInteger(r.channel) || r.channel < 0 || r.channel > 0xffff) throw bad('channel', r.channel);
  if (!Number.isInteger(r.blockId) || r.blockId < 0 || r.blockId > maxBlock) throw bad('block id', r.blockId);
  for (const [what, v] of [
    ['first packet id', r.firstPacketId],
    ['last packet id', r.lastPacketId],
  ] as const)
    if (!Number.isInteger(v) || v < 0 || v > maxPacket) throw bad(what, v);
  if (r.lastPacketId < r.firstPacketId) throw bad('last packet id', r.lastPacketId);
  let payload: Buffer;
  if (!r.extendedId) {
    payload = Buffer.alloc(12);
    payload.writeUInt16BE(r.channel, 0);
    payload.writeUInt16BE(r.blockId, 2);
    payload.writeUInt32BE(r.firstPacketId, 4);
    payload.writeUInt32BE(r.lastPacketId, 8);
  } else {
    payload = Buffer.alloc(20);
    payload.writeUInt16BE(r.channel, 0);
    payload.writeUInt32BE(r.firstPacketId, 4);
    payload.writeUInt32BE(r.lastPacketId, 8);
    payload.writeBigUInt64BE(BigInt(r.blockId), 12);
  }
  return encodeCommand({
    flags: r.extendedId ? GVCP_FLAG_EXTENDED_ID : 0,
    command: GvcpCommand.PACKETRESEND_CMD,
    reqId,
    payload,
  });
}

/** Parses a PACKETRESEND_CMD (what a device receives); for test devices. */
export function decodePacketResendCmd(cmd: GvcpCommandPacket): PacketResendRequest {
  if (cmd.command !== GvcpCommand.PACKETRESEND_CMD)
    throw new GvcpError('UNEXPECTED_ANSWER', `GVCP command ${hex(cmd.command)} is not PACKETRESEND`);
  const extendedId = (cmd.flags & GVCP_FLAG_EXTENDED_ID) !== 0;
  const p = cmd.payload;
  if (p.length < (extendedId ? 20 : 12))
    throw new GvcpError('TRUNCATED', `PACKETRESEND payload of ${p.length} bytes is too short`);
  if (!extendedId)
    return {
      channel: p.readUInt16BE(0),
      blockId: p.readUInt16BE(2),
      firstPacketId: p.readUInt32BE(4) & 0xffffff,
      lastPacketId: p.readUInt32BE(8) & 0xffffff,
      extendedId,
    };
  const block = p.readBigUInt64BE(12);
  if (block > BigInt(Number.MAX_SAFE_INTEGER))
    throw new GvcpError('BAD_PAYLOAD', `PACKETRESEND block id ${block} is beyond 2^53`);
  return {
    channel: p.readUInt16BE(0),
    blockId: Number(block),
    firstPacketId: p.readUInt32BE(4),
    lastPacketId: p.readUInt32BE(8),
    extendedId,
  };
}
