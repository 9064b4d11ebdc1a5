/**
 * A GigE Vision camera as a FrameSource: find it (unicast to its address, or broadcast for its serial number),
 * take control, read its GenICam XML, set it up by feature name, stream over GVSP, and on a lost camera
 * (power cycle, cable pulled, heartbeat gone) report 'reconnecting' and try again with backoff until it
 * answers, without a daemon restart.
 */
import type { Logger } from 'pino';
import { InspectdError, messageOf } from '../../core/errors.js';
import type { Frame, FrameSource, SourceState } from '../../core/frame.js';
import { Throttle } from '../../log/logger.js';
import { configureCamera, resolveFeature, type CameraSettings } from './cameraSetup.js';
import { NodeMap } from './genicam/nodeMap.js';
import { gvcpPort } from './genicam/port.js';
import { fetchGenicamXml, readBootstrap } from './genicamXml.js';
import { GvcpClient } from './gvcpClient.js';
import { discover } from './discovery.js';
import type { AssembledFrame } from './gvspAssembler.js';
import { hostAddressFor } from './hostAddress.js';
import { convertToPipeline, isSupportedPixelFormat, pfncName } from './pixelFormats.js';
import { GvspStreamChannel } from './streamChannel.js';

export interface GigeSourceOptions extends CameraSettings {
  id: string;
  /** The camera's IPv4 address; '' = find it by `serial` with a broadcast discovery. */
  address: string;
  /** The camera's serial number: which camera to find, and a check when `address` is given. */
  serial: string;
  /** Our address on the camera network; '' = the interface on the camera's subnet. */
  interfaceAddress: string;
  /** GVSP packet size on the wire (bytes incl. IP/UDP headers); 1500-byte MTU -> 1400..1476, jumbo -> 8000+. */
  packetSize: number;
  /** 64-bit block ids (GigE Vision 2.x): auto = only where the camera cannot send 16-bit ones. */
  extendedIds: 'auto' | 'on' | 'off';
  /** Check packetSize with the camera's test packet at connect, and lower it when it does not arrive. */
  packetSizeTest: boolean;
  /** SCPD inter-packet delay in camera ticks; -1 = leave the camera's. */
  packetDelay: number;
  resend: 'auto' | 'always' | 'never';
  /** A frame not complete this long after its first packet is given up (counted). */
  frameTimeoutMs: number;
  recvBufferBytes: number;
  /** Free run only: no frame for this long with the camera still answering = restart the stream; 0 = off. */
  stallTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** GVCP: how long one command waits for its ack. */
  controlTimeoutMs: number;
  /** GVCP port of the camera (3956; other values only for test devices). */
  port?: number;
}

interface Session {
  client: GvcpClient;
  nodeMap: NodeMap;
  stream: GvspStreamChannel;
  address: string;
  triggerSoftware?: string;
  /** Resolves with why the session ended (lost camera, stalled stream, close). */
  ended: Promise<string>;
  end(reason: string): void;
  stallTimer?: NodeJS.Timeout;
}

/** Converted frames waiting for the pipeline's capture loop; it pulls at once, so this only absorbs jitter. */
const BUFFERED_FRAMES = 4;

export class GigeSource implements FrameSource {
  readonly id: string;
  readonly kind = 'gige';
  private _state: SourceState = 'starting';
  private readonly log: Logger;
  private readonly throttle: Throttle;
  private session?: Session;
  private closed = false;
  private started = false;
  private readonly buffered: Frame[] = [];
  private wakeConsumer?: () => void;
  private wakeRunner?: () => void;
  private runDone?: Promise<void>;
  private seq = 0;
  private lastFrameAt = 0;
  private readonly counts = {
    frames: 0,
    bytes: 0,
    dropped: 0,
    badFrames: 0,
    connects: 0,
    reconnects: 0,
    connectFailures: 0,
    stalls: 0,
    triggers: 0,
  };
  /** Stream counters of sessions that ended, so stats() keeps counting across reconnects. */
  private readonly streamTotals = { incomplete: 0, lost: 0, recovered: 0, resendRequests: 0 };

  constructor(
    private readonly o: GigeSourceOptions,
    log: Logger,
  ) {
    this.id = o.id;
    this.log = log;
    this.throttle = new Throttle(log, 60_000);
    if (!o.address && !o.serial)
      throw new InspectdError(`GigE camera ${o.id}: neither address nor serial is set`, {
        subject: `${o.id}.source`,
        fix: 'set source.address to the camera IP, or source.serial to find it by broadcast',
      });
  }

  get state(): SourceState {
    return this._state;
  }

  frames(): AsyncIterable<Frame> {
    if (this.started)
      throw new Error(`GigE camera ${this.id}: frames() was already called; a source has one consumer`);
    this.started = true;
    this.runDone = this.run();
    return this.generate();
  }

  private async *generate(): AsyncGenerator<Frame> {
    try {
      for (;;) {
        const f = this.buffered.shift();
        if (f) {
          yield f;
          continue;
        }
        if (this.closed) return;
        await new Promise<void>((r) => (this.wakeConsumer = r));
      }
    } finally {
      await this.close();
    }
  }

  /** Connect, stream until the camera is lost, back off, reconnect, until closed. */
  private async run(): Promise<void> {
    let delay = this.o.reconnectMinMs;
    let everConnected = false;
    while (!this.closed) {
      this._state = everConnected ? 'reconnecting' : 'starting';
      try {
        this.session = await this.connect();
      } catch (e) {
        this.counts.connectFailures++;
        const msg = messageOf(e);
        const fix = e instanceof InspectdError ? e.details.fix : undefined;
        // The same failure every few seconds for hours: once a minute is enough, with the count in between.
        this.throttle.warn(
          `connect:${msg}`,
          { err: msg, fix, retryInMs: delay },
          `GigE camera ${this.id}: cannot start (${msg}); retrying in ${delay} ms`,
        );
        this._state = everConnected ? 'reconnecting' : 'starting';
        await this.pause(delay);
        delay = Math.min(this.o.reconnectMaxMs, delay * 2);
        continue;
      }
      if (this.closed) {
        // close() came while connecting: it could not end a session it did not see yet.
        await this.teardown(this.session);
        this.session = undefined;
        break;
      }
      if (everConnected) this.counts.reconnects++;
      everConnected = true;
      delay = this.o.reconnectMinMs;
      this._state = 'streaming';
      const reason = await this.session.ended;
      await this.teardown(this.session);
      this.session = undefined;
      if (this.closed) break;
      this._state = 'reconnecting';
      this.log.warn({ reason }, `GigE camera ${this.id}: ${reason}; reconnecting`);
    }
    this._state = 'stopped';
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wakeRunner = done;
    });
  }

  private async findAddress(): Promise<string> {
    if (this.o.address) return this.o.address;
    const found = await discover({
      timeoutMs: 1000,
      interfaceAddress: this.o.interfaceAddress || undefined,
      port: this.o.port,
    });
    const cam = found.find((d) => d.serial === this.o.serial);
    if (!cam)
      throw new InspectdError(
        `no GigE camera with serial ${this.o.serial} answered discovery (found: ${
          found.map((d) => `${d.serial} at ${d.ip}`).join(', ') || 'none'
        })`,
        {
          subject: 'serial',
          value: this.o.serial,
          fix: 'check the serial number, the camera power and that it is on this network; or set source.address',
        },
      );
    return cam.address;
  }

  private async connect(): Promise<Session> {
    const address = await this.findAddress();
    const hostAddress = this.o.interfaceAddress || hostAddressFor(address);
    const client = await GvcpClient.connect(address, {
      localAddress: this.o.interfaceAddress || undefined,
      timeoutMs: this.o.controlTimeoutMs,
      port: this.o.port,
    });
    let stream: GvspStreamChannel | undefined;
    try {
      await client.openControl();
      const boot = await readBootstrap(client);
      if (this.o.serial && boot.serial !== this.o.serial)
        throw new InspectdError(
          `the GigE camera at ${address} has serial ${boot.serial}, not ${this.o.serial}`,
          {
            subject: 'serial',
            value: boot.serial,
            fix: 'a camera was swapped: correct source.serial or source.address',
          },
        );
      const xml = await fetchGenicamXml(client);
      const nodeMap = NodeMap.fromXml(xml.xml, gvcpPort(client));
      // A previous session (ours before a crash, or a viewer) may have left it streaming.
      if (await resolveFeature(nodeMap, 'AcquisitionStop'))
        await nodeMap.execute('AcquisitionStop').catch(() => undefined);
      const applied = await configureCamera(nodeMap, this.o);
      const width = await nodeMap.getInteger('Width');
      const height = await nodeMap.getInteger('Height');
      const pixelFormat = await nodeMap.getEnumValue('PixelFormat');
      if (!isSupportedPixelFormat(pixelFormat))
        throw new InspectdError(
          `GigE camera ${this.id} streams ${pfncName(pixelFormat)}, which inspectd cannot convert`,
          {
            subject: 'pixelFormat',
            value: pfncName(pixelFormat),
            fix: `set source.pixelFormat to one of: ${(await nodeMap.enumEntries('PixelFormat')).join(', ')}`,
          },
        );
      stream = await GvspStreamChannel.open(client, {
        hostAddress,
        packetSize: this.o.packetSize,
        testPacket: this.o.packetSizeTest,
        extendedIds: this.o.extendedIds,
        packetDelay: this.o.packetDelay >= 0 ? this.o.packetDelay : undefined,
        resend: this.o.resend,
        frameTimeoutMs: this.o.frameTimeoutMs,
        recvBufferBytes: this.o.recvBufferBytes,
        log: this.log,
      });
      const triggerSoftware =
        this.o.trigger === 'software' ? await resolveFeature(nodeMap, 'TriggerSoftware') : undefined;
      let end!: (reason: string) => void;
      const ended = new Promise<string>((r) => (end = r));
      const session: Session = { client, nodeMap, stream, address, triggerSoftware, ended, end };
      stream.on('frame', (f) => this.onFrame(f));
      client.once('lost', (err) => session.end(`camera lost: ${err.message}`));
      await nodeMap.execute('AcquisitionStart');
      this.counts.connects++;
      this.lastFrameAt = Date.now();
      if (this.o.trigger === 'off' && this.o.stallTimeoutMs > 0) this.watchStall(session);
      this.log.info(
        {
          address,
          hostAddress,
          port: stream.port,
          packetSize: stream.packetSize,
          model: `${boot.manufacturer} ${boot.model}`,
          serial: boot.serial,
          firmware: boot.deviceVersion,
          width,
          height,
          pixelFormat: pfncName(pixelFormat),
          trigger: this.o.trigger,
          applied,
          resend: stream.resendEnabled,
          recvBufferBytes: stream.recvBufferBytes,
        },
        `GigE camera ${this.id} streaming: ${boot.manufacturer} ${boot.model} ${boot.serial} at ${address}, ` +
          `${width}x${height} ${pfncName(pixelFormat)}${this.o.trigger === 'software' ? ', software trigger' : ''}`,
      );
      return session;
    } catch (e) {
      await stream?.close().catch(() => undefined);
      await client.close().catch(() => undefined);
      throw e;
    }
  }

  private watchStall(s: Session): void {
    const check = (): void => {
      if (Date.now() - this.lastFrameAt > this.o.stallTimeoutMs) {
        this.counts.stalls++;
        s.end(`no frame for ${this.o.stallTimeoutMs} ms while the camera answers (stream stalled)`);
        return;
      }
      s.stallTimer = setTimeout(check, Math.min(1000, this.o.stallTimeoutMs));
    };
    s.stallTimer = setTimeout(check, Math.min(1000, this.o.stallTimeoutMs));
  }

  private onFrame(f: AssembledFrame): void {
    const { leader } = f;
    let image;
    try {
      image = convertToPipeline(leader.pixelFormat, leader.width, leader.height, f.data, {
        paddingX: leader.paddingX,
      });
    } catch (e) {
      this.counts.badFrames++;
      this.throttle.warn(
        'convert',
        { blockId: f.blockId, err: messageOf(e) },
        `GigE camera ${this.id}: frame ${f.blockId} dropped: ${messageOf(e)}`,
      );
      return;
    }
    this.lastFrameAt = Date.now();
    this.counts.frames++;
    this.counts.bytes += f.data.length;
    if (this.buffered.length >= BUFFERED_FRAMES) {
      this.buffered.shift();
      this.counts.dropped++;
    }
    this.buffered.push({
      cameraId: this.id,
      seq: ++this.seq,
      timestamp: Date.now(),
      width: leader.width,
      height: leader.height,
      pixelFormat: image.pixelFormat,
      data: image.data,
      origin: `gige://${this.session?.address ?? this.o.address}/block/${f.blockId}`,
    });
    this.wakeConsumer?.();
  }

  /**
   * Software trigger: the camera exposes one frame, which arrives through frames() like any other. Needs
   * `trigger: "software"` and a connected camera.
   */
  async trigger(): Promise<void> {
    if (this.o.trigger !== 'software')
      throw new InspectdError(`GigE camera ${this.id} is in free run, it cannot be triggered`, {
        subject: `${this.id}.source.trigger`,
        value: this.o.trigger,
        fix: 'set source.trigger to "software" for triggered inspection',
      });
    const s = this.session;
    if (!s || this._state !== 'streaming' || !s.triggerSoftware)
      throw new InspectdError(`GigE camera ${this.id} is not connected (${this._state}); trigger refused`, {
        subject: this.id,
        fix: 'wait for the camera to reconnect (see its state on the status page), then trigger again',
      });
    await s.nodeMap.execute(s.triggerSoftware);
    this.counts.triggers++;
  }

  private async teardown(s: Session): Promise<void> {
    clearTimeout(s.stallTimer);
    const st = s.stream.stats();
    this.streamTotals.incomplete += st.framesIncomplete;
    this.streamTotals.lost += st.framesLost;
    this.streamTotals.recovered += st.framesRecovered;
    this.streamTotals.resendRequests += st.resendRequests;
    if (!s.client.isClosed && s.client.hasControl)
      await s.nodeMap.execute('AcquisitionStop').catch(() => undefined);
    await s.stream.close().catch(() => undefined);
    await s.client.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) {
      await this.runDone;
      return;
    }
    this.closed = true;
    this.session?.end('closed');
    this.wakeRunner?.();
    this.wakeConsumer?.();
    await this.runDone;
    this._state = 'stopped';
    this.log.info({ ...this.stats() }, `GigE camera ${this.id} stopped`);
  }

  stats(): Record<string, number> {
    const st = this.session?.stream.stats();
    return {
      ...this.counts,
      framesIncomplete: this.streamTotals.incomplete + (st?.framesIncomplete ?? 0),
      framesLost: this.streamTotals.lost + (st?.framesLost ?? 0),
      framesRecovered: this.streamTotals.recovered + (st?.framesRecovered ?? 0),
      resendRequests: this.streamTotals.resendRequests + (st?.resendRequests ?? 0),
    };
  }
}
