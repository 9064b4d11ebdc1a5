/**
 * Reassembles GVSP images from their packets: leader (packet 0) sizes the frame, payload packets 1..n are
 * copied at (packet id - 1) * payload size, the trailer (n + 1) is optional. Missing packets are asked again
 * (PACKETRESEND) through a callback, within a frame timeout.
 *
 * Pure apart from the callbacks: time comes in as `now` (ms), so the stream channel drives it from its socket
 * and a timer, and tests drive it by hand. Memory is bounded: at most `maxFramesInFlight` frames of at most
 * `maxFrameBytes` each (a leader announcing more is rejected), the oldest evicted when a new one arrives.
 */
import { GvspError, decodeGvspPacket, type GvspImageLeader } from './gvsp.js';
import { imageBytes } from './pixelFormats.js';

export interface ResendRequest {
  blockId: number;
  firstPacketId: number;
  lastPacketId: number;
  extendedId: boolean;
}

export interface GvspAssemblerOptions {
  /** Image bytes per payload packet: SCPS packet size - 36 (IP + UDP + GVSP header), - 48 with extended ids. */
  packetPayloadSize: number;
  /** Largest frame accepted from a leader, bytes (default 64 MiB). */
  maxFrameBytes?: number;
  /** Frames being assembled at once; a new block beyond this evicts the oldest (default 4). */
  maxFramesInFlight?: number;
  /** Silence after the last packet of a frame before its tail counts as missing, ms (default 10). */
  packetTimeoutMs?: number;
  /** Least time between two resend requests for the same frame, ms (default 30). */
  resendIntervalMs?: number;
  /** Requests per missing packet before giving up on it (default 3). */
  maxResendsPerPacket?: number;
  /** A frame not complete this long after its first packet is given up, ms (default 400). */
  frameTimeoutMs?: number;
  /**
   * A gap between two ticks longer than this means the process was starved (GC, a busy CPU): datagrams may
   * still wait in the socket buffer, so that tick does not take silence for loss. Off (Infinity) by default.
   */
  loopStallMs?: number;
  /** Above this fraction of missing packets a frame is not worth resending (default 0.25). */
  maxResendRatio?: number;
  /** Most resend ranges asked per frame per tick (default 16). */
  maxRangesPerRequest?: number;
  /** Also hand out incomplete frames (holes are zeros); default: drop them, counted. */
  deliverIncomplete?: boolean;
  /** Sends a PACKETRESEND; none = no resends (a device without the capability). */
  resend?: (r: ResendRequest) => void;
}

export interface AssembledFrame {
  blockId: number;
  leader: GvspImageLeader;
  /** Exactly the image bytes the leader announces. */
  data: Buffer;
  complete: boolean;
  /** Data packets still missing (0 when complete). */
  missingPackets: number;
  /** Packets asked again for this frame. */
  resentPackets: number;
}

export interface GvspAssemblerStats {
  framesComplete: number;
  /** Complete only thanks to resent packets (also counted in framesComplete). */
  framesRecovered: number;
  /** Had a leader, but packets were still missing at the timeout or on eviction. */
  framesIncomplete: number;
  /** Never got a leader (no size known): given up. */
  framesLost: number;
  /** Pushed out (as incomplete or lost) by newer frames beyond maxFramesInFlight. */
  framesEvicted: number;
  leadersRejected: number;
  packets: number;
  packetsMalformed: number;
  packetsUnsupported: number;
  packetsDuplicate: number;
  /** For a frame already delivered or given up. */
  packetsLate: number;
  /** Packet id beyond the frame, or data beyond the configured payload size. */
  packetsOutOfRange: number;
  /** GVSP status with the error bit (e.g. PACKET_UNAVAILABLE answering a resend). */
  packetsErrorStatus: number;
  resendRequests: number;
  resendPackets: number;
  /** Frames whose missing share was above maxResendRatio when checked: not asked again while it is. */
  resendsSkipped: number;
}

interface Pending {
  blockId: number;
  extendedId: boolean;
  firstAt: number;
  lastAt: number;
  maxPacketId: number;
  leader?: GvspImageLeader;
  data?: Buffer;
  frameBytes: number;
  /** Data packets 1..n (n = nPackets). */
  nPackets: number;
  /** Index = packet id; 1 = received. Sized n + 2 once the leader is known. */
  received?: Uint8Array;
  /** Resend requests per packet id. */
  asked?: Uint8Array;
  receivedCount: number;
  /** Payload packets that came before the leader (copies), bounded by maxFrameBytes in total. */
  stash?: Map<number, Buffer>;
  stashBytes: number;
  lastResendAt: number;
  leaderAskedAt: number;
  leaderAsks: number;
  /** Counted in resendsSkipped already. */
  skipCounted?: boolean;
  resentPackets: number;
}

const RECENT_BLOCKS = 64;
const GVSP_STATUS_ERROR_BIT = 0x8000;

export class GvspAssembler {
  private readonly o: Required<Omit<GvspAssemblerOptions, 'resend'>> & Pick<GvspAssemblerOptions, 'resend'>;
  private readonly pending = new Map<number, Pending>();
  private lastTickAt: number | undefined;
  /** Blocks delivered or given up, oldest first: their late packets are ignored, not a new frame. */
  private readonly recent = new Set<number>();
  private readonly counters: GvspAssemblerStats = {
    framesComplete: 0,
    framesRecovered: 0,
    framesIncomplete: 0,
    framesLost: 0,
    framesEvicted: 0,
    leadersRejected: 0,
    packets: 0,
    packetsMalformed: 0,
    packetsUnsupported: 0,
    packetsDuplicate: 0,
    packetsLate: 0,
    packetsOutOfRange: 0,
    packetsErrorStatus: 0,
    resendRequests: 0,
    resendPackets: 0,
    resendsSkipped: 0,
  };

  constructor(
    options: GvspAssemblerOptions,
    private readonly onFrame: (f: AssembledFrame) => void,
  ) {
    if (!Number.isInteger(options.packetPayloadSize) || options.packetPayloadSize < 4)
      throw new GvspError('BAD_PAYLOAD', `GVSP payload size ${options.packetPayloadSize} is not usable`, {
        subject: 'packetPayloadSize',
        value: options.packetPayloadSize,
      });
    this.o = {
      maxFrameBytes: 64 * 1024 * 1024,
      maxFramesInFlight: 4,
      packetTimeoutMs: 10,
      resendIntervalMs: 30,
      maxResendsPerPacket: 3,
      frameTimeoutMs: 400,
      loopStallMs: Infinity,
      maxResendRatio: 0.25,
      maxRangesPerRequest: 16,
      deliverIncomplete: false,
      ...options,
    };
  }

  stats(): GvspAssemblerStats {
    return { ...this.counters };
  }

  /** Frames being assembled now. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Bytes held by frames in flight (frame buffers and stashed packets). */
  get heldBytes(): number {
    let n = 0;
    for (const p of this.pending.values()) n += (p.data?.length ?? 0) + p.stashBytes;
    return n;
  }

  /** One received datagram. Never throws for a bad packet: it is counted and dropped. */
  push(buf: Buffer, now: number): void {
    this.counters.packets++;
    let pkt;
    try {
      pkt = decodeGvspPacket(buf);
    } catch (e) {
      if (e instanceof GvspError && e.code === 'UNSUPPORTED') this.counters.packetsUnsupported++;
      else this.counters.packetsMalformed++;
      return;
    }
    const { header } = pkt;
    if (header.status & GVSP_STATUS_ERROR_BIT) {
      this.counters.packetsErrorStatus++;
      return;
    }
    if (this.recent.has(header.blockId)) {
      this.counters.packetsLate++;
      return;
    }
    let p = this.pending.get(header.blockId);
    if (!p) {
      // A packet id beyond any frame this assembler accepts cannot open a frame.
      if (header.packetId > this.maxPacketId()) {
        this.counters.packetsOutOfRange++;
        return;
      }
      p = {
        blockId: header.blockId,
        extendedId: header.extendedId,
        firstAt: now,
        lastAt: now,
        maxPacketId: header.packetId,
        frameBytes: 0,
        nPackets: 0,
        receivedCount: 0,
        stashBytes: 0,
        lastResendAt: -Infinity,
        leaderAskedAt: -Infinity,
        leaderAsks: 0,
        resentPackets: 0,
      };
      this.pending.set(header.blockId, p);
      while (this.pending.size > this.o.maxFramesInFlight) {
        const oldest = this.pending.values().next().value as Pending;
        this.counters.framesEvicted++;
        this.finish(oldest);
      }
    }
    p.lastAt = now;
    if (header.packetId > p.maxPacketId) p.maxPacketId = header.packetId;

    if (pkt.kind === 'leader') {
      if (p.leader) {
        this.counters.packetsDuplicate++;
        return;
      }
      const l = pkt.leader;
      const bytes = imageBytes(l.pixelFormat, l.width, l.height, l.paddingX, l.paddingY);
      if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes > this.o.maxFrameBytes) {
        this.counters.leadersRejected++;
        this.pending.delete(p.blockId);
        this.remember(p.blockId);
        return;
      }
      p.leader = l;
      p.frameBytes = bytes;
      p.nPackets = Math.ceil(bytes / this.o.packetPayloadSize);
      p.received = new Uint8Array(p.nPackets + 2);
      p.asked = new Uint8Array(p.nPackets + 2);
      p.received[0] = 1;
      p.data = Buffer.alloc(bytes);
      const stash = p.stash;
      p.stash = undefined;
      p.stashBytes = 0;
      if (stash) for (const [id, d] of stash) this.place(p, id, d);
      this.maybeComplete(p);
      return;
    }
    if (pkt.kind === 'trailer') return;
    // Payload.
    if (header.packetId === 0) {
      this.counters.packetsMalformed++;
      return;
    }
    if (pkt.data.length > this.o.packetPayloadSize) {
      this.counters.packetsOutOfRange++;
      return;
    }
    if (!p.leader) {
      if (p.stash?.has(header.packetId)) {
        this.counters.packetsDuplicate++;
        return;
      }
      if (p.stashBytes + pkt.data.length > this.o.maxFrameBytes) {
        this.counters.packetsOutOfRange++;
        return;
      }
      (p.stash ??= new Map()).set(header.packetId, Buffer.from(pkt.data));
      p.stashBytes += pkt.data.length;
      return;
    }
    this.place(p, header.packetId, pkt.data);
    this.maybeComplete(p);
  }

  private maxPacketId(): number {
    return Math.ceil(this.o.maxFrameBytes / this.o.packetPayloadSize) + 1;
  }

  /** Copies one payload packet into a frame whose leader is known. */
  private place(p: Pending, id: number, data: Buffer): void {
    const received = p.received!;
    if (id < 1 || id > p.nPackets) {
      this.counters.packetsOutOfRange++;
      return;
    }
    if (received[id]) {
      this.counters.packetsDuplicate++;
      return;
    }
    const offset = (id - 1) * this.o.packetPayloadSize;
    // The last packet may be padded: copy only what fits the frame.
    data.copy(p.data!, offset, 0, Math.min(data.length, p.frameBytes - offset));
    received[id] = 1;
    p.receivedCount++;
  }

  private maybeComplete(p: Pending): void {
    if (p.leader && p.receivedCount === p.nPackets) this.finish(p);
  }

  /** Delivers (or drops) a frame and forgets it. */
  private finish(p: Pending): void {
    this.pending.delete(p.blockId);
    this.remember(p.blockId);
    if (!p.leader) {
      this.counters.framesLost++;
      return;
    }
    const missing = p.nPackets - p.receivedCount;
    if (missing === 0) {
      this.counters.framesComplete++;
      if (p.resentPackets > 0) this.counters.framesRecovered++;
    } else this.counters.framesIncomplete++;
    if (missing === 0 || this.o.deliverIncomplete)
      this.onFrame({
        blockId: p.blockId,
        leader: p.leader,
        data: p.data!,
        complete: missing === 0,
        missingPackets: missing,
        resentPackets: p.resentPackets,
      });
  }

  private remember(blockId: number): void {
    this.recent.delete(blockId);
    this.recent.add(blockId);
    if (this.recent.size > RECENT_BLOCKS) this.recent.delete(this.recent.values().next().value as number);
  }

  /** Gives up timed-out frames and asks again for missing packets. Call every few ms. */
  tick(now: number): void {
    const frames = [...this.pending.values()];
    const newest = frames[frames.length - 1];
    const stalled = this.lastTickAt !== undefined && now - this.lastTickAt > this.o.loopStallMs;
    this.lastTickAt = now;
    for (const p of frames) {
      if (now - p.firstAt > this.o.frameTimeoutMs) {
        this.finish(p);
        continue;
      }
      if (!this.o.resend || now - p.lastResendAt < this.o.resendIntervalMs) continue;
      // Devices send frames one after the other: once a newer frame streams, this one's tail is over too.
      // After a stall the newest frame's tail may just be unread yet: judge it at the next tick.
      const quiet = p !== newest || (!stalled && now - p.lastAt >= this.o.packetTimeoutMs);
      if (!p.leader) {
        // Payload without a leader: ask for the leader (the payload is stashed meanwhile).
        this.askLeader(p, now);
        continue;
      }
      // Up to `horizon`, a packet not here is missing: below the highest id seen, or the whole frame after a
      // quiet spell (its tail and trailer were lost).
      const horizon = quiet ? p.nPackets : Math.min(p.maxPacketId - 1, p.nPackets);
      const received = p.received!;
      const asked = p.asked!;
      let missing = 0;
      for (let id = 1; id <= horizon; id++) if (!received[id]) missing++;
      if (missing === 0) continue;
      if (missing > this.o.maxResendRatio * p.nPackets) {
        if (!p.skipCounted) this.counters.resendsSkipped++;
        p.skipCounted = true;
        // Checked again after the resend interval: a share that high may also be packets still unread.
        p.lastResendAt = now;
        continue;
      }
      let ranges = 0;
      for (let id = 1; id <= horizon && ranges < this.o.maxRangesPerRequest; id++) {
        if (received[id] || asked[id] >= this.o.maxResendsPerPacket) continue;
        let last = id;
        while (last + 1 <= horizon && !received[last + 1] && asked[last + 1] < this.o.maxResendsPerPacket)
          last++;
        for (let k = id; k <= last; k++) asked[k]++;
        this.request(p, id, last, now);
        ranges++;
        id = last;
      }
    }
  }

  private askLeader(p: Pending, now: number): void {
    if (p.leaderAsks >= this.o.maxResendsPerPacket || now - p.leaderAskedAt < this.o.resendIntervalMs) return;
    p.leaderAsks++;
    p.leaderAskedAt = now;
    this.request(p, 0, 0, now);
  }

  private request(p: Pending, first: number, last: number, now: number): void {
    p.lastResendAt = now;
    p.resentPackets += last - first + 1;
    this.counters.resendRequests++;
    this.counters.resendPackets += last - first + 1;
    this.o.resend!({
      blockId: p.blockId,
      firstPacketId: first,
      lastPacketId: last,
      extendedId: p.extendedId,
    });
  }

  /** Gives up every frame in flight (at stop). */
  flush(): void {
    for (const p of [...this.pending.values()]) this.finish(p);
  }
}
