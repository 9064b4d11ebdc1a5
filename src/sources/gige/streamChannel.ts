/**
 * A GVSP stream channel: a UDP socket the camera streams to, the camera's SCP registers pointing at it, and a
 * {@link GvspAssembler} turning its datagrams into frames (with PACKETRESEND through the GVCP client).
 *
 * The caller holds control of the device ({@link GvcpClient.openControl}) and starts/stops acquisition; this
 * only sets the channel up and receives.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { GvcpCapability, type GvcpClient } from './gvcpClient.js';
import { ipv4ToUint } from './hostAddress.js';
import { fireTestPacket, negotiatePacketSize } from './packetSize.js';
import { GvspError, IP_UDP_OVERHEAD, GVSP_EXTENDED_HEADER_SIZE, GVSP_HEADER_SIZE } from './gvsp.js';
import {
  GvspAssembler,
  type AssembledFrame,
  type GvspAssemblerOptions,
  type GvspAssemblerStats,
  type ResendRequest,
} from './gvspAssembler.js';

/** Bootstrap registers of stream channel 0; channel i is at + i * STRIDE. */
export const StreamChannelRegister = {
  /** Number of stream channels (bootstrap). */
  COUNT: 0x0904,
  /** SCPx: host port in the low 16 bits (0 closes the channel). */
  PORT: 0x0d00,
  /** SCPSx: bit 31 fire test packet, bit 30 do not fragment, bit 29 big endian, low 16 bits packet size. */
  PACKET_SIZE: 0x0d04,
  /** SCPDx: delay between packets, in timestamp ticks. */
  DELAY: 0x0d08,
  /** SCDAx: destination IPv4 address. */
  DEST_ADDRESS: 0x0d18,
  STRIDE: 0x40,
} as const;

/** GigE Vision 2.x registers for 64-bit block ids ("extended ID mode"). */
export const ExtendedIdRegister = {
  /** Version: major in the high 16 bits. Extended ids exist from 2.0. */
  VERSION: 0x0000,
  /** GVSP capability: bit 30 set = the device can still send 16-bit block ids. */
  GVSP_CAPABILITY: 0x092c,
  /** GVSP configuration: bit 30 = 64-bit block id enable. */
  GVSP_CONFIGURATION: 0x0960,
  LEGACY_16BIT_SUPPORTED: 0x40000000,
  ENABLE_64BIT: 0x40000000,
} as const;

export const ScpsFlag = {
  FIRE_TEST_PACKET: 0x80000000,
  DO_NOT_FRAGMENT: 0x40000000,
  BIG_ENDIAN: 0x20000000,
} as const;

/**
 * Registers of Aravis's fake camera (arv-fake-gv-camera-0.8, aravis 0.8.26, from its arv-fake-camera.xml),
 * for starting it by raw register until features are set by name through the GenICam node map.
 */
export const AravisFakeCameraRegister = {
  WIDTH: 0x100,
  HEIGHT: 0x104,
  /** AcquisitionCommandRegister (WO): AcquisitionStart writes 1, AcquisitionStop writes 0. */
  ACQUISITION_COMMAND: 0x124,
  /** PixelFormat (PFNC code; 0x01080001 = Mono8 by default). */
  PIXEL_FORMAT: 0x128,
  /** AcquisitionModeRegister: 1 Continuous, 2 SingleFrame, 3 MultiFrame. */
  ACQUISITION_MODE: 0x12c,
  /** AcquisitionFramePeriodRegister, µs (1000..10000000; 40000 = 25 fps by default). */
  FRAME_PERIOD_US: 0x138,
} as const;

/** The subset of a pino logger this needs. */
export interface StreamLog {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

export interface StreamChannelOptions extends Omit<GvspAssemblerOptions, 'packetPayloadSize' | 'resend'> {
  /** Our IPv4 address on the camera's network: where the camera sends. */
  hostAddress: string;
  /** Stream channel index (default 0). */
  channel?: number;
  /** Local UDP port (default 0: any free port). */
  localPort?: number;
  /** SCPS packet size, bytes on the wire including IP and UDP (default 1400; 8000+ with jumbo frames). */
  packetSize?: number;
  /** Set the SCPS "do not fragment" bit (default true). */
  doNotFragment?: boolean;
  /** SCPD inter-packet delay in device ticks (default: leave it as is). */
  packetDelay?: number;
  /**
   * 64-bit block ids (GigE Vision 2.x): 'auto' (default) turns them on only for a 2.x device that cannot
   * send 16-bit ids (16-bit ids wrap at 65535 frames but cost 12 bytes less per packet); 'on'; 'off'.
   */
  extendedIds?: 'auto' | 'on' | 'off';
  /** Check the packet size with the camera's test packet first, and lower it when it does not arrive. */
  testPacket?: boolean;
  /** How long to wait for one test packet, ms (default 150). */
  testPacketTimeoutMs?: number;
  /** Socket receive buffer asked for, bytes (default 32 MiB). */
  recvBufferBytes?: number;
  /**
   * PACKETRESEND: 'auto' (default) when the device announces the capability, 'always', 'never', or a function
   * (tests, relays).
   */
  resend?: 'auto' | 'always' | 'never' | ((r: ResendRequest) => void);
  /** Period of the resend/timeout check, ms (default 5). */
  tickMs?: number;
  log?: StreamLog;
}

export interface StreamChannelStats extends GvspAssemblerStats {
  datagrams: number;
  /** Datagrams from another address than the camera's, dropped. */
  foreign: number;
  /** The socket receive buffer the kernel granted (Linux reports twice the usable size). */
  recvBufferBytes: number;
}

/** net.core.rmem_max, where /proc says it (Linux). */
export function readRmemMax(): number | undefined {
  try {
    const v = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decides and sets the block id width. GigE Vision 1.x devices only have 16-bit ids, and some of them (and
 * Aravis's fake camera) do not answer reads of the 2.x registers at all, so those are read only on 2.x.
 * Returns whether 64-bit ids are on.
 */
export async function setupExtendedIds(client: GvcpClient, mode: 'auto' | 'on' | 'off'): Promise<boolean> {
  const major = (await client.readRegister(ExtendedIdRegister.VERSION)) >>> 16;
  if (major < 2) {
    if (mode === 'on')
      throw new GvspError(
        'BAD_PAYLOAD',
        `GigE camera ${client.host} is GigE Vision ${major}.x: it has no 64-bit block ids`,
        {
          subject: 'extendedIds',
          value: mode,
          fix: 'set extendedIds to auto or off for this camera',
        },
      );
    return false;
  }
  const legacy =
    ((await client.readRegister(ExtendedIdRegister.GVSP_CAPABILITY)) &
      ExtendedIdRegister.LEGACY_16BIT_SUPPORTED) !==
    0;
  const on = mode === 'on' || (mode === 'auto' && !legacy);
  if (!on && !legacy)
    throw new GvspError('BAD_PAYLOAD', `GigE camera ${client.host} only sends 64-bit block ids`, {
      subject: 'extendedIds',
      value: mode,
      fix: 'set extendedIds to auto or on for this camera',
    });
  const cfg = await client.readRegister(ExtendedIdRegister.GVSP_CONFIGURATION);
  const want = on
    ? (cfg | ExtendedIdRegister.ENABLE_64BIT) >>> 0
    : (cfg & ~ExtendedIdRegister.ENABLE_64BIT) >>> 0;
  if (want !== cfg >>> 0) await client.writeRegister(ExtendedIdRegister.GVSP_CONFIGURATION, want);
  return on;
}

export class GvspStreamChannel extends EventEmitter<{ frame: [AssembledFrame] }> {
  private readonly assembler: GvspAssembler;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private datagrams = 0;
  private foreign = 0;

  private constructor(
    private readonly client: GvcpClient,
    private readonly socket: dgram.Socket,
    readonly channel: number,
    /** The local port the camera streams to. */
    readonly port: number,
    readonly packetSize: number,
    /** Granted receive buffer (as the kernel reports it). */
    readonly recvBufferBytes: number,
    /** Whether missing packets are asked again. */
    readonly resendEnabled: boolean,
    assemblerOptions: GvspAssemblerOptions,
    tickMs: number,
  ) {
    super();
    this.assembler = new GvspAssembler(assemblerOptions, (f) => this.emit('frame', f));
    socket.on('message', (msg, rinfo) => {
      this.datagrams++;
      if (rinfo.address !== client.host) {
        this.foreign++;
        return;
      }
      this.assembler.push(msg, performance.now());
    });
    socket.on('error', () => undefined);
    this.timer = setInterval(() => this.assembler.tick(performance.now()), tickMs);
  }

  /**
   * Binds the socket, sizes its receive buffer (warning with the sysctl to run when the kernel caps it) and
   * points the camera's stream channel at it. Acquisition is not started.
   */
  static async open(client: GvcpClient, opts: StreamChannelOptions): Promise<GvspStreamChannel> {
    const channel = opts.channel ?? 0;
    let packetSize = opts.packetSize ?? 1400;
    if (!Number.isInteger(packetSize) || packetSize < 576 || packetSize > 0xffff)
      throw new GvspError('BAD_PAYLOAD', `GVSP packet size ${packetSize} is out of range`, {
        subject: 'packetSize',
        value: packetSize,
        fix: 'use 576..9000 (1500 without jumbo frames)',
      });
    const dest = ipv4ToUint(opts.hostAddress);
    if (dest === undefined)
      throw new GvspError('BAD_PAYLOAD', `"${opts.hostAddress}" is not an IPv4 address`, {
        subject: 'hostAddress',
        value: opts.hostAddress,
      });
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: opts.localPort ?? 0, address: opts.hostAddress }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    try {
      const want = opts.recvBufferBytes ?? 32 * 1024 * 1024;
      try {
        socket.setRecvBufferSize(want);
      } catch {
        // Refused outright (some kernels reject above the limit instead of capping): read what is left.
      }
      const got = socket.getRecvBufferSize();
      if (got < want) {
        const max = readRmemMax();
        opts.log?.warn(
          { wanted: want, granted: got, rmemMax: max, fix: `sysctl -w net.core.rmem_max=${want}` },
          `GVSP receive buffer capped at ${got} bytes (asked ${want}${max === undefined ? '' : `, net.core.rmem_max = ${max}`}): ` +
            `packets may be lost at high frame rates; raise it with: sudo sysctl -w net.core.rmem_max=${want}`,
        );
      }

      let resendFn: ((r: ResendRequest) => void) | undefined;
      const resend = opts.resend ?? 'auto';
      if (typeof resend === 'function') resendFn = resend;
      else if (resend === 'always' || resend === 'auto') {
        const capable =
          resend === 'always' || ((await client.readCapabilities()) & GvcpCapability.PACKETRESEND) !== 0;
        if (capable)
          resendFn = (r) => {
            if (!client.isClosed) client.packetResend({ channel, ...r });
          };
      }

      const base = StreamChannelRegister.STRIDE * channel;
      const port = socket.address().port;
      await client.writeRegister(StreamChannelRegister.DEST_ADDRESS + base, dest);
      await client.writeRegister(StreamChannelRegister.PORT + base, port);
      const flags = opts.doNotFragment === false ? 0 : ScpsFlag.DO_NOT_FRAGMENT;
      const regs = { scps: StreamChannelRegister.PACKET_SIZE + base, flags };
      if (opts.testPacket) {
        const r = await negotiatePacketSize(
          (size) => fireTestPacket(client, socket, regs, size, opts.testPacketTimeoutMs ?? 150),
          packetSize,
        );
        packetSize = r.size;
        if (r.outcome === 'reduced')
          opts.log?.warn(
            { wanted: opts.packetSize ?? 1400, size: r.size, tests: r.tests },
            `GVSP packets of ${opts.packetSize ?? 1400} bytes do not reach this host (test packet lost: an MTU or ` +
              `NIC without jumbo frames on the way); streaming with ${r.size}-byte packets instead. Fix: enable ` +
              `jumbo frames on every link (ip link set <nic> mtu 9000) or lower source.packetSize`,
          );
        else if (r.outcome === 'untested')
          opts.log?.info?.(
            { size: packetSize, tests: r.tests },
            `the camera sent no GVSP test packet: packet size ${packetSize} kept untested`,
          );
      }
      await client.writeRegister(regs.scps, (flags | packetSize) >>> 0);
      const extendedId = await setupExtendedIds(client, opts.extendedIds ?? 'auto');
      if (opts.packetDelay !== undefined)
        await client.writeRegister(StreamChannelRegister.DELAY + base, opts.packetDelay);

      return new GvspStreamChannel(
        client,
        socket,
        channel,
        port,
        packetSize,
        got,
        resendFn !== undefined,
        {
          loopStallMs: 4 * (opts.tickMs ?? 5),
          ...opts,
          packetPayloadSize:
            packetSize - IP_UDP_OVERHEAD - (extendedId ? GVSP_EXTENDED_HEADER_SIZE : GVSP_HEADER_SIZE),
          resend: resendFn,
        },
        opts.tickMs ?? 5,
      );
    } catch (e) {
      socket.close();
      throw e;
    }
  }

  stats(): StreamChannelStats {
    return {
      ...this.assembler.stats(),
      datagrams: this.datagrams,
      foreign: this.foreign,
      recvBufferBytes: this.recvBufferBytes,
    };
  }

  /** Frames in flight and the bytes they hold. */
  get inFlight(): { frames: number; bytes: number } {
    return { frames: this.assembler.inFlight, bytes: this.assembler.heldBytes };
  }

  /** Stops receiving; closes the camera's channel (SCP port 0) when the client still controls it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (!this.client.isClosed && this.client.hasControl)
      await this.client
        .writeRegister(StreamChannelRegister.PORT + StreamChannelRegister.STRIDE * this.channel, 0)
        .catch(() => undefined);
    this.assembler.flush();
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}
