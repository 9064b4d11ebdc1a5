/**
 * A GigE Vision camera as a FrameSource: find it (unicast to its address, or broadcast for its serial number),
 * take control, read its GenICam XML, set it up by feature name, stream over GVSP, and on a lost camera
 * (power cycle, cable pulled, heartbeat gone) report 'reconnecting' and try again with backoff until it
 * answers, without a daemon restart.
 */
import { InspectdError, messageOf } from '../../core/errors.js';
import type { SourceContext } from '../../core/frame.js';
import { Throttle } from '../../log/logger.js';
import { Backoff } from '../backoff.js';
import { SourceBase } from '../sourceBase.js';
import { configureCamera, resolveFeature } from './cameraSetup.js';
import { NodeMap } from './genicam/nodeMap.js';
import { gvcpPort } from './genicam/port.js';
import { fetchGenicamXml, readBootstrap } from './genicamXml.js';
import { GvcpClient } from './gvcpClient.js';
import { discover } from './discovery.js';
import type { AssembledFrame } from './gvspAssembler.js';
import { hostAddressFor } from './hostAddress.js';
import { convertToPipeline, isSupportedPixelFormat, pfncName } from './pixelFormats.js';
import type { GigeOptions } from './settings.js';
import { GvspStreamChannel } from './streamChannel.js';

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

export class GigeSource extends SourceBase<GigeOptions> {
  readonly kind = 'gige';
  private readonly throttle: Throttle;
  private session?: Session;
  private seq = 0;
  private lastFrameAt = 0;
  private readonly counts = {
    framesIn: 0,
    bytes: 0,
    badFrames: 0,
    connects: 0,
    reconnects: 0,
    connectFailures: 0,
    stalls: 0,
    triggers: 0,
  };
  /** Stream counters of sessions that ended, so stats() keeps counting across reconnects. */
  private readonly streamTotals = { incomplete: 0, lost: 0, recovered: 0, resendRequests: 0 };

  constructor(ctx: SourceContext<GigeOptions>) {
    if (!ctx.options.address && !ctx.options.serial)
      throw new InspectdError(`GigE camera ${ctx.id}: neither address nor serial is set`, {
        subject: `${ctx.id}.source`,
        fix: 'set source.address to the camera IP, or source.serial to find it by broadcast',
      });
    super(ctx, { name: `GigE camera ${ctx.id}`, capacity: BUFFERED_FRAMES, policy: 'drop-oldest' });
    this.throttle = new Throttle(this.log, 60_000);
  }

  protected override release(): void {
    this.session?.end('closed');
  }

  /** Connect, stream until the camera is lost, back off, reconnect, until closed. */
  protected async produce(): Promise<void> {
    const backoff = new Backoff(this.options.reconnectMinSec * 1000, this.options.reconnectMaxSec * 1000);
    let everConnected = false;
    while (!this.closed) {
      this.state = everConnected ? 'reconnecting' : 'starting';
      try {
        this.session = await this.connect();
      } catch (e) {
        this.counts.connectFailures++;
        const msg = messageOf(e);
        const fix = e instanceof InspectdError ? e.details.fix : undefined;
        const delay = backoff.next();
        // The same failure every few seconds for hours: once a minute is enough, with the count in between.
        this.throttle.warn(
          `connect:${msg}`,
          { err: msg, fix, retryInMs: delay },
          `GigE camera ${this.id}: cannot start (${msg}); retrying in ${delay} ms`,
        );
        await this.sleep(delay);
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
      backoff.reset();
      this.state = 'streaming';
      const reason = await this.session.ended;
      await this.teardown(this.session);
      this.session = undefined;
      if (this.closed) break;
      this.state = 'reconnecting';
      this.log.warn({ reason }, `GigE camera ${this.id}: ${reason}; reconnecting`);
    }
  }

  private async findAddress(): Promise<string> {
    if (this.options.address) return this.options.address;
    const found = await discover({
      timeoutMs: 1000,
      interfaceAddress: this.options.interfaceAddress || undefined,
      port: this.options.port,
    });
    const cam = found.find((d) => d.serial === this.options.serial);
    if (!cam)
      throw new InspectdError(
        `no GigE camera with serial ${this.options.serial} answered discovery (found: ${
          found.map((d) => `${d.serial} at ${d.ip}`).join(', ') || 'none'
        })`,
        {
          subject: 'serial',
          value: this.options.serial,
          fix: 'check the serial number, the camera power and that it is on this network; or set source.address',
        },
      );
    return cam.address;
  }

  private async connect(): Promise<Session> {
    const address = await this.findAddress();
    const hostAddress = this.options.interfaceAddress || hostAddressFor(address);
    const client = await GvcpClient.connect(address, {
      localAddress: this.options.interfaceAddress || undefined,
      timeoutMs: Math.round(this.options.controlTimeoutSec * 1000),
      port: this.options.port,
    });
    let stream: GvspStreamChannel | undefined;
    try {
      await client.openControl();
      const boot = await readBootstrap(client);
      if (this.options.serial && boot.serial !== this.options.serial)
        throw new InspectdError(
          `the GigE camera at ${address} has serial ${boot.serial}, not ${this.options.serial}`,
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
      const applied = await configureCamera(nodeMap, this.options);
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
        packetSize: this.options.packetSize,
        testPacket: this.options.packetSizeTest,
        extendedIds: this.options.extendedIds,
        packetDelay: this.options.packetDelay >= 0 ? this.options.packetDelay : undefined,
        resend: this.options.resend,
        frameTimeoutMs: Math.round(this.options.frameTimeoutSec * 1000),
        recvBufferBytes: this.options.recvBufferBytes,
        log: this.log,
      });
      const triggerSoftware =
        this.options.trigger === 'software' ? await resolveFeature(nodeMap, 'TriggerSoftware') : undefined;
      let end!: (reason: string) => void;
      const ended = new Promise<string>((r) => (end = r));
      const session: Session = { client, nodeMap, stream, address, triggerSoftware, ended, end };
      stream.on('frame', (f) => this.onFrame(f));
      client.once('lost', (err) => session.end(`camera lost: ${err.message}`));
      await nodeMap.execute('AcquisitionStart');
      this.counts.connects++;
      this.lastFrameAt = Date.now();
      if (this.options.trigger === 'off' && this.options.stallTimeoutSec > 0) this.watchStall(session);
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
          trigger: this.options.trigger,
          applied,
          resend: stream.resendEnabled,
          recvBufferBytes: stream.recvBufferBytes,
        },
        `GigE camera ${this.id} streaming: ${boot.manufacturer} ${boot.model} ${boot.serial} at ${address}, ` +
          `${width}x${height} ${pfncName(pixelFormat)}${this.options.trigger === 'software' ? ', software trigger' : ''}`,
      );
      return session;
    } catch (e) {
      await stream?.close().catch(() => undefined);
      await client.close().catch(() => undefined);
      throw e;
    }
  }

  private watchStall(s: Session): void {
    const stallMs = this.options.stallTimeoutSec * 1000;
    const check = (): void => {
      if (Date.now() - this.lastFrameAt > stallMs) {
        this.counts.stalls++;
        s.end(`no frame for ${this.options.stallTimeoutSec} s while the camera answers (stream stalled)`);
        return;
      }
      s.stallTimer = setTimeout(check, Math.min(1000, stallMs));
    };
    s.stallTimer = setTimeout(check, Math.min(1000, stallMs));
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
    this.counts.framesIn++;
    this.counts.bytes += f.data.length;
    void this.offer({
      cameraId: this.id,
      seq: ++this.seq,
      timestamp: Date.now(),
      width: leader.width,
      height: leader.height,
      pixelFormat: image.pixelFormat,
      data: image.data,
      origin: `gige://${this.session?.address ?? this.options.address}/block/${f.blockId}`,
    });
  }

  /**
   * Software trigger: the camera exposes one frame, which arrives through frames() like any other. Needs
   * `trigger: "software"` and a connected camera.
   */
  async trigger(): Promise<void> {
    if (this.options.trigger !== 'software')
      throw new InspectdError(`GigE camera ${this.id} is in free run, it cannot be triggered`, {
        subject: `${this.id}.source.trigger`,
        value: this.options.trigger,
        fix: 'set source.trigger to "software" for triggered inspection',
      });
    const s = this.session;
    if (!s || this.state !== 'streaming' || !s.triggerSoftware)
      throw new InspectdError(`GigE camera ${this.id} is not connected (${this.state}); trigger refused`, {
        subject: this.id,
        fix: 'wait for the camera to reconnect (see its state on the web UI), then trigger again',
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

  protected override ownStats(): Record<string, number> {
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
