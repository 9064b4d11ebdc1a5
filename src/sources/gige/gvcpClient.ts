/**
 * A GVCP client: one UDP socket talking to one GigE Vision device on port 3956. One command is in flight at
 * a time (GVCP devices handle commands in order and many drop a second one); each is matched to its ack by
 * req_id, retried on timeout, and waits longer when the device sends PENDING_ACK.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import {
  GVCP_MAX_MEM_DATA,
  GVCP_MAX_READREG,
  GVCP_PORT,
  GVCP_STATUS_ACCESS_DENIED,
  GvcpCommand,
  GvcpError,
  decodeAck,
  decodePendingAck,
  decodeReadMemAck,
  decodeReadRegAck,
  decodeWriteAck,
  encodePacketResendCmd,
  encodeReadMemCmd,
  encodeReadRegCmd,
  encodeWriteMemCmd,
  encodeWriteRegCmd,
  gvcpStatusName,
  type GvcpAck,
  type PacketResendRequest,
} from './gvcp.js';

/** Bootstrap registers the client itself needs. */
export const GvcpRegister = {
  /** GVCP capability bits (GigE Vision numbers bits from the MSB: bit 31 = the LSB). */
  GVCP_CAPABILITY: 0x0934,
  /** Heartbeat timeout in ms: the device drops the controller when it hears nothing for this long. */
  HEARTBEAT_TIMEOUT: 0x0938,
  /** Control Channel Privilege: 0 = open, bit 1 (0x2) = control access, bit 0 (0x1) = exclusive access. */
  CCP: 0x0a00,
} as const;

export const CCP_EXCLUSIVE = 0x1;
export const CCP_CONTROL = 0x2;

/** GVCP capability bits (0x0934), as masks on the register value. */
export const GvcpCapability = {
  CONCATENATION: 1 << 0,
  WRITEMEM: 1 << 1,
  PACKETRESEND: 1 << 2,
  EVENT: 1 << 3,
  EVENTDATA: 1 << 4,
  PENDINGACK: 1 << 5,
} as const;

/** Largest block `readMemory` / `writeMemory` accept in one call (a bound on allocations, not a GVCP limit). */
export const MAX_MEMORY_BLOCK = 64 * 1024 * 1024;

export interface GvcpClientOptions {
  /** Device GVCP port (3956; a test device may use another). */
  port?: number;
  /** Local address to bind (selects the interface); any by default. */
  localAddress?: string;
  /** How long one try waits for its ack, ms. */
  timeoutMs?: number;
  /** Tries per command (the first one included). */
  tries?: number;
  /** PENDING_ACK extensions honoured per command before giving up (a device that never finishes). */
  maxPendingAcks?: number;
  /** Heartbeat period; by default a third of the device's heartbeat timeout, 100..1000 ms. */
  heartbeatIntervalMs?: number;
  /** Consecutive failed heartbeats (each one after all its tries) before 'lost'. */
  heartbeatFailures?: number;
}

export interface GvcpClientStats {
  commands: number;
  retries: number;
  timeouts: number;
  pendingAcks: number;
  malformed: number;
  stale: number;
  heartbeats: number;
  heartbeatFailures: number;
  /** PACKETRESEND commands sent (they have no ack). */
  packetResends: number;
}

interface Waiter {
  reqId: number;
  onAck(ack: GvcpAck): void;
}

const hex = (n: number, digits = 4): string => `0x${(n >>> 0).toString(16).padStart(digits, '0')}`;

/** What a user can do about a device status, where there is something to do. */
function statusFix(status: number): string | undefined {
  switch (status) {
    case GVCP_STATUS_ACCESS_DENIED:
      return 'another host controls the camera: close the other application (vendor viewer, another inspectd) or wait for its heartbeat to time out';
    case 0x8003:
      return 'the register does not exist on this camera: check the address against its GenICam XML';
    case 0x8004:
      return 'the register is read-only';
    case 0x8007:
      return 'the camera is busy: retry later';
    default:
      return undefined;
  }
}

export class GvcpClient extends EventEmitter<{ lost: [Error] }> {
  readonly host: string;
  readonly port: number;
  private readonly socket: dgram.Socket;
  private readonly timeoutMs: number;
  private readonly tries: number;
  private readonly maxPendingAcks: number;
  private readonly heartbeatFailuresAllowed: number;
  private readonly heartbeatIntervalOption: number | undefined;

  private reqId = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private waiter: Waiter | undefined;
  private closed = false;
  private closeWaiters: (() => void)[] = [];
  private controlling = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatFailuresInRow = 0;
  private lostEmitted = false;
  private concatenation = false;
  /** The device's heartbeat timeout read by `openControl`, ms. */
  heartbeatTimeoutMs: number | undefined;
  /** The heartbeat period in use once control is open, ms. */
  heartbeatIntervalMs: number | undefined;
  private readonly counters: GvcpClientStats = {
    commands: 0,
    retries: 0,
    timeouts: 0,
    pendingAcks: 0,
    malformed: 0,
    stale: 0,
    heartbeats: 0,
    heartbeatFailures: 0,
    packetResends: 0,
  };

  private constructor(host: string, socket: dgram.Socket, options: GvcpClientOptions) {
    super();
    this.host = host;
    this.socket = socket;
    this.port = options.port ?? GVCP_PORT;
    this.timeoutMs = options.timeoutMs ?? 500;
    this.tries = Math.max(1, options.tries ?? 3);
    this.maxPendingAcks = options.maxPendingAcks ?? 32;
    this.heartbeatFailuresAllowed = Math.max(1, options.heartbeatFailures ?? 2);
    this.heartbeatIntervalOption = options.heartbeatIntervalMs;
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    // A UDP socket reports ICMP errors (port unreachable) as 'error' on some platforms; a missing answer is
    // handled by the timeout, so these must not crash the process.
    socket.on('error', () => undefined);
  }

  /** Opens a socket for `host` (a dotted IPv4 address). Nothing is sent yet. */
  static async connect(host: string, options: GvcpClientOptions = {}): Promise<GvcpClient> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: 0, address: options.localAddress }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new GvcpClient(host, socket, options);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether this client holds control (CCP) of the device. */
  get hasControl(): boolean {
    return this.controlling;
  }

  stats(): GvcpClientStats {
    return { ...this.counters };
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (rinfo.address !== this.host || rinfo.port !== this.port) return;
    let ack: GvcpAck;
    try {
      ack = decodeAck(msg);
    } catch {
      this.counters.malformed++;
      return;
    }
    const w = this.waiter;
    if (!w || ack.ackId !== w.reqId) {
      this.counters.stale++;
      return;
    }
    w.onAck(ack);
  }

  private nextReqId(): number {
    this.reqId = (this.reqId % 0xffff) + 1;
    return this.reqId;
  }

  /** Runs `fn` after every earlier command: one command in flight at a time. */
  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private closedError(what: string): GvcpError {
    return new GvcpError('CLOSED', `${what} on GigE camera ${this.host}: the GVCP client is closed`, {
      subject: this.host,
    });
  }

  /**
   * Sends one command and resolves with its (success) ack. Retries with the same req_id after `timeoutMs`
   * without an answer; a PENDING_ACK restarts the wait with the time the device asks for.
   */
  private transact(
    build: (reqId: number) => Buffer,
    answer: number,
    what: string,
    opts: { tries?: number; timeoutMs?: number } = {},
  ): Promise<GvcpAck> {
    return this.serialize(async () => {
      if (this.closed) throw this.closedError(what);
      const reqId = this.nextReqId();
      const packet = build(reqId);
      const tries = opts.tries ?? this.tries;
      const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
      this.counters.commands++;
      for (let attempt = 1; attempt <= tries; attempt++) {
        if (attempt > 1) this.counters.retries++;
        const ack = await this.sendAndWait(packet, reqId, timeoutMs);
        if (ack === 'closed') throw this.closedError(what);
        if (ack === 'timeout') continue;
        if (ack.answer !== answer)
          throw new GvcpError(
            'UNEXPECTED_ANSWER',
            `${what} on GigE camera ${this.host}: got ack ${hex(ack.answer)}, expected ${hex(answer)}`,
            { subject: this.host, value: ack.answer },
          );
        if (ack.status !== 0)
          throw new GvcpError(
            'STATUS',
            `${what} on GigE camera ${this.host} failed: ${gvcpStatusName(ack.status)}`,
            { subject: this.host, value: ack.status, status: ack.status, fix: statusFix(ack.status) },
          );
        return ack;
      }
      this.counters.timeouts++;
      throw new GvcpError(
        'TIMEOUT',
        `${what}: no answer from GigE camera ${this.host}:${this.port} after ${tries} tries of ${timeoutMs} ms`,
        {
          subject: this.host,
          fix: 'check that the camera is powered and reachable (same subnet, cable, firewall open for UDP 3956)',
        },
      );
    });
  }

  private sendAndWait(
    packet: Buffer,
    reqId: number,
    timeoutMs: number,
  ): Promise<GvcpAck | 'timeout' | 'closed'> {
    return new Promise((resolve) => {
      let pendings = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (r: GvcpAck | 'timeout' | 'closed'): void => {
        clearTimeout(timer);
        this.waiter = undefined;
        this.closeWaiters = this.closeWaiters.filter((f) => f !== onClose);
        resolve(r);
      };
      const onClose = (): void => finish('closed');
      const arm = (ms: number): void => {
        clearTimeout(timer);
        timer = setTimeout(() => finish('timeout'), ms);
      };
      this.waiter = {
        reqId,
        onAck: (ack) => {
          if (ack.answer === GvcpCommand.PENDING_ACK) {
            let extra: number;
            try {
              extra = decodePendingAck(ack).timeToCompletionMs;
            } catch {
              this.counters.malformed++;
              return;
            }
            this.counters.pendingAcks++;
            if (++pendings > this.maxPendingAcks) return finish('timeout');
            // The device needs `extra` ms more; allow the usual network margin on top.
            return arm(extra + timeoutMs);
          }
          finish(ack);
        },
      };
      this.closeWaiters.push(onClose);
      arm(timeoutMs);
      // A send error (no route...) is a lost packet: the timeout retries it.
      this.socket.send(packet, this.port, this.host, () => undefined);
    });
  }

  async readRegister(address: number): Promise<number> {
    const ack = await this.transact(
      (id) => encodeReadRegCmd(id, [address]),
      GvcpCommand.READREG_ACK,
      `READREG ${hex(address, 8)}`,
    );
    return decodeReadRegAck(ack, 1)[0];
  }

  /**
   * Reads several registers: in packets of up to 135 when the device announced concatenation
   * (see `openControl` / `readCapabilities`), else one command per register.
   */
  async readRegisters(addresses: readonly number[]): Promise<number[]> {
    const out: number[] = [];
    if (!this.concatenation) {
      for (const a of addresses) out.push(await this.readRegister(a));
      return out;
    }
    for (let i = 0; i < addresses.length; i += GVCP_MAX_READREG) {
      const chunk = addresses.slice(i, i + GVCP_MAX_READREG);
      const ack = await this.transact(
        (id) => encodeReadRegCmd(id, chunk),
        GvcpCommand.READREG_ACK,
        `READREG ${chunk.length} registers from ${hex(chunk[0], 8)}`,
      );
      out.push(...decodeReadRegAck(ack, chunk.length));
    }
    return out;
  }

  async writeRegister(address: number, value: number): Promise<void> {
    const ack = await this.transact(
      (id) => encodeWriteRegCmd(id, [{ address, value }]),
      GvcpCommand.WRITEREG_ACK,
      `WRITEREG ${hex(address, 8)} = ${hex(value >>> 0, 8)}`,
    );
    decodeWriteAck(ack, GvcpCommand.WRITEREG_ACK);
  }

  private checkBlock(address: number, length: number, what: string): void {
    if (!Number.isInteger(address) || address < 0 || address % 4 !== 0)
      throw new GvcpError('BAD_ARGUMENT', `${what} address ${address} is not 4-byte aligned`, {
        subject: what,
        value: address,
        fix: 'use a multiple of 4',
      });
    if (
      !Number.isInteger(length) ||
      length < 0 ||
      length > MAX_MEMORY_BLOCK ||
      address + length > 0x1_0000_0000
    )
      throw new GvcpError(
        'BAD_ARGUMENT',
        `${what} of ${length} bytes at ${hex(address, 8)} is out of range`,
        {
          subject: what,
          value: length,
          fix: `read at most ${MAX_MEMORY_BLOCK} bytes, inside the 32-bit address space`,
        },
      );
  }

  /**
   * Reads `length` bytes from `address` in READMEM packets of at most 536 bytes. Each packet asks a multiple
   * of 4 bytes (GVCP requires it); a length that is not one is read rounded up and trimmed.
   */
  async readMemory(address: number, length: number): Promise<Buffer> {
    this.checkBlock(address, length, 'READMEM');
    const out = Buffer.alloc(length);
    for (let off = 0; off < length; off += GVCP_MAX_MEM_DATA) {
      const want = Math.min(GVCP_MAX_MEM_DATA, length - off);
      const count = Math.ceil(want / 4) * 4;
      const at = address + off;
      const ack = await this.transact(
        (id) => encodeReadMemCmd(id, at, count),
        GvcpCommand.READMEM_ACK,
        `READMEM ${count} bytes at ${hex(at, 8)}`,
      );
      decodeReadMemAck(ack, at, count).copy(out, off, 0, want);
    }
    return out;
  }

  /** Writes `data` (a multiple of 4 bytes) at `address` in WRITEMEM packets of at most 536 bytes. */
  async writeMemory(address: number, data: Buffer): Promise<void> {
    this.checkBlock(address, data.length, 'WRITEMEM');
    if (data.length % 4 !== 0)
      throw new GvcpError('BAD_ARGUMENT', `WRITEMEM of ${data.length} bytes is not a multiple of 4`, {
        subject: 'WRITEMEM',
        value: data.length,
        fix: 'pad the data to a multiple of 4 bytes (read the last word first to keep its other bytes)',
      });
    for (let off = 0; off < data.length; off += GVCP_MAX_MEM_DATA) {
      const chunk = data.subarray(off, off + GVCP_MAX_MEM_DATA);
      const at = address + off;
      const ack = await this.transact(
        (id) => encodeWriteMemCmd(id, at, chunk),
        GvcpCommand.WRITEMEM_ACK,
        `WRITEMEM ${chunk.length} bytes at ${hex(at, 8)}`,
      );
      // The index field is not checked: devices disagree on it (Aravis's fake camera echoes the address).
      decodeWriteAck(ack, GvcpCommand.WRITEMEM_ACK);
    }
  }

  /** Reads the GVCP capability register and remembers whether READREG may carry several addresses. */
  async readCapabilities(): Promise<number> {
    const caps = await this.readRegister(GvcpRegister.GVCP_CAPABILITY);
    this.concatenation = (caps & GvcpCapability.CONCATENATION) !== 0;
    return caps;
  }

  /**
   * Takes control of the device (CCP = control access) and starts the heartbeat that keeps it. Throws a
   * GvcpError with status ACCESS_DENIED when another host holds control: either the device says so, or it
   * ignores the write (as Aravis's fake camera does) and CCP still reads as held.
   */
  async openControl(): Promise<void> {
    if (this.controlling) return;
    await this.readCapabilities();
    this.heartbeatTimeoutMs = await this.readRegister(GvcpRegister.HEARTBEAT_TIMEOUT);
    try {
      await this.writeRegister(GvcpRegister.CCP, CCP_CONTROL);
    } catch (e) {
      if (e instanceof GvcpError && (e.status === GVCP_STATUS_ACCESS_DENIED || e.code === 'TIMEOUT')) {
        let ccp: number | undefined;
        try {
          ccp = await this.readRegister(GvcpRegister.CCP);
        } catch {
          ccp = undefined;
        }
        if (e.status === GVCP_STATUS_ACCESS_DENIED || (ccp !== undefined && (ccp & 0x3) !== 0))
          throw this.controlHeldError(e, ccp);
      }
      throw e;
    }
    this.controlling = true;
    this.lostEmitted = false;
    this.heartbeatFailuresInRow = 0;
    const hb = this.heartbeatTimeoutMs > 0 ? this.heartbeatTimeoutMs : 3000;
    this.heartbeatIntervalMs =
      this.heartbeatIntervalOption ?? Math.min(1000, Math.max(100, Math.floor(hb / 3)));
    this.scheduleHeartbeat();
  }

  private controlHeldError(cause: GvcpError, ccp: number | undefined): GvcpError {
    const how =
      cause.status === GVCP_STATUS_ACCESS_DENIED
        ? 'the camera answered ACCESS_DENIED (0x8006)'
        : `the camera ignored the write (ACCESS_DENIED) and CCP reads ${hex(ccp ?? 0, 8)}`;
    const wait = this.heartbeatTimeoutMs ? ` (${this.heartbeatTimeoutMs} ms on this camera)` : '';
    return new GvcpError(
      'STATUS',
      `cannot take control of GigE camera ${this.host}: another host holds it; ${how} writing CCP 0x0a00`,
      {
        subject: this.host,
        value: ccp,
        status: GVCP_STATUS_ACCESS_DENIED,
        cause,
        fix: `close the other application controlling the camera (vendor viewer, another inspectd), or wait for its heartbeat timeout${wait} to expire, then retry`,
      },
    );
  }

  private scheduleHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
    if (!this.controlling || this.closed) return;
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(), this.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  private async heartbeat(): Promise<void> {
    if (!this.controlling || this.closed) return;
    this.counters.heartbeats++;
    try {
      const ccp = await this.readRegister(GvcpRegister.CCP);
      if ((ccp & 0x3) === 0) {
        return this.lose(
          new GvcpError('STATUS', `lost control of GigE camera ${this.host}: CCP reads ${hex(ccp, 8)}`, {
            subject: this.host,
            value: ccp,
            fix: 'the camera dropped this host (heartbeat timeout, reboot or another host forcing control): reopen it',
          }),
        );
      }
      this.heartbeatFailuresInRow = 0;
    } catch (e) {
      if (this.closed) return;
      this.counters.heartbeatFailures++;
      if (++this.heartbeatFailuresInRow >= this.heartbeatFailuresAllowed) {
        return this.lose(
          new GvcpError(
            'TIMEOUT',
            `lost GigE camera ${this.host}: ${this.heartbeatFailuresInRow} heartbeats in a row failed`,
            {
              subject: this.host,
              cause: e,
              fix: 'check the camera power and network link; the source reconnects when it answers again',
            },
          ),
        );
      }
    }
    this.scheduleHeartbeat();
  }

  private lose(err: Error): void {
    this.controlling = false;
    clearTimeout(this.heartbeatTimer);
    if (this.lostEmitted) return;
    this.lostEmitted = true;
    this.emit('lost', err);
  }

  /** Releases control (CCP = 0, best effort) and closes the socket. Safe to call twice. */
  /**
   * Asks the device to resend GVSP packets `firstPacketId..lastPacketId` of a block. PACKETRESEND has no
   * ack (the answer is the packets themselves, on the stream channel), so this sends at once, outside the
   * one-command-at-a-time queue, and never waits. Check {@link GvcpCapability.PACKETRESEND} first: a device
   * without it ignores the command.
   */
  packetResend(r: PacketResendRequest): void {
    if (this.closed) throw this.closedError('PACKETRESEND');
    const packet = encodePacketResendCmd(this.nextReqId(), r);
    this.counters.packetResends++;
    this.socket.send(packet, this.port, this.host, () => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.heartbeatTimer);
    if (this.controlling) {
      this.controlling = false;
      try {
        await this.transact(
          (id) => encodeWriteRegCmd(id, [{ address: GvcpRegister.CCP, value: 0 }]),
          GvcpCommand.WRITEREG_ACK,
          'release control (WRITEREG CCP = 0)',
          { tries: 2, timeoutMs: Math.min(this.timeoutMs, 300) },
        );
      } catch {
        // The device is gone or already dropped us: its heartbeat timeout releases control anyway.
      }
    }
    this.closed = true;
    for (const f of [...this.closeWaiters]) f();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
