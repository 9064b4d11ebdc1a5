import type { OPCUAServer } from 'node-opcua';
import type { Logger } from 'pino';
import { InspectdError, messageOf } from '../../core/errors.js';
import { Tally } from '../../core/eventWindow.js';
import type { Verdict } from '../../core/verdict.js';
import type { Sink, SinkContext, SinkHealth } from '../types.js';
import { OpcuaCamera } from './camera.js';
import { routeLibraryLogs } from './libraryLog.js';
import { PlcClient } from './plcClient.js';
import { limitSessions } from './sessionLimits.js';
import { createServer, withoutX509Users } from './server.js';
import type { OpcuaSettings } from './settings.js';

const REFUSAL_WINDOW_SEC = 60;

/**
 * Verdicts to OPC UA: a server with one OPC 40100 VisionSystem and one flat tag folder per camera, and
 * optionally a client writing each verdict into a PLC's own server (client mode). Methods and the trigger
 * handshake reach the pipelines through the line's control. docs/OPCUA.md describes the address space.
 */
export class OpcuaSink implements Sink {
  readonly name = 'opcua';
  private server?: OPCUAServer;
  private readonly cams = new Map<string, OpcuaCamera>();
  private heartbeat?: NodeJS.Timeout;
  private client?: PlcClient;
  private running = false;
  private published = 0;
  /** Sessions refused lately: a client that cannot get in is worth saying in readiness. */
  private readonly refusals = new Tally(REFUSAL_WINDOW_SEC);
  private lastRefusal = '';
  private readonly s: OpcuaSettings;
  private readonly log: Logger;

  constructor(private readonly ctx: SinkContext<OpcuaSettings>) {
    this.s = ctx.settings;
    this.log = ctx.log;
  }

  /** opc.tcp URL of the server's endpoint (once started). */
  get endpointUrl(): string {
    return this.server?.getEndpointUrl() ?? '';
  }

  camera(id: string): OpcuaCamera | undefined {
    return this.cams.get(id);
  }

  async start(): Promise<void> {
    routeLibraryLogs(this.log);
    // Client mode settings are checked first: a bad one must not leave a server running.
    if (this.s.client.enabled)
      this.client = new PlcClient(
        this.s.client,
        this.s.pkiDir,
        this.ctx.cameras,
        this.log.child({ stage: 'opcua-client' }),
      );
    const server = await createServer(this.s, this.ctx.line, this.log);
    this.server = server;
    await server.initialize();
    limitSessions(server, this.s, this.log, (why) => {
      this.refusals.add(Date.now());
      this.lastRefusal = why;
    });
    if (!this.s.x509Users) withoutX509Users(server);
    const addressSpace = server.engine.addressSpace!;
    const own = addressSpace.getOwnNamespace();
    for (const id of this.ctx.cameras)
      this.cams.set(
        id,
        new OpcuaCamera(
          addressSpace,
          own,
          id,
          this.s.initialMode,
          this.ctx.journal,
          this.ctx.control,
          this.log.child({ camera: id }),
        ),
      );
    try {
      await server.start();
    } catch (e) {
      await server.shutdown(0).catch(() => {});
      throw new InspectdError(
        `OPC UA server cannot listen on ${this.s.host}:${this.s.port}: ${messageOf(e)}`,
        {
          subject: 'opcua.port',
          value: this.s.port,
          fix: 'choose a free port (opcua.port) or stop what holds it; the host must be an address of this machine',
          cause: e,
        },
      );
    }
    this.running = true;
    this.heartbeat = setInterval(() => {
      for (const c of this.cams.values()) c.heartbeat();
    }, this.s.heartbeatSec * 1000);
    this.heartbeat.unref();
    const local = ['127.0.0.1', '::1', 'localhost'].includes(this.s.host);
    if (!local && (this.s.allowAnonymous || this.s.securityModes.includes('None')))
      this.log.warn(
        { host: this.s.host },
        `OPC UA server on ${this.s.host} accepts ${this.s.allowAnonymous ? 'anonymous sessions' : 'unsecured channels (mode None)'} from the network: anyone who reaches it can trigger and halt the cameras`,
      );
    const anonymous = this.s.allowAnonymous ? ', anonymous allowed' : '';
    this.log.info(
      {
        endpoint: this.endpointUrl,
        securityModes: this.s.securityModes,
        securityPolicies: this.s.securityPolicies,
      },
      `OPC UA server on ${this.endpointUrl} (${this.s.securityModes.join(', ')}${anonymous})`,
    );
    this.client?.start();
  }

  health(): SinkHealth {
    if (!this.running) return { ready: false, reason: 'opcua not running' };
    const refused = this.refusals.sum(Date.now());
    if (refused > 0)
      return {
        ready: false,
        reason: `opcua: ${refused} session(s) refused in the last ${REFUSAL_WINDOW_SEC} s (${this.lastRefusal})`,
      };
    if (this.client && !this.client.ready()) return { ready: false, reason: 'opcua not connected' };
    return { ready: true };
  }

  stats(): Record<string, number> {
    return {
      published: this.published,
      sessions: this.server?.currentSessionCount ?? 0,
      rejectedSessions: this.server?.rejectedSessionCount ?? 0,
      ...(this.client ? { plcWritten: this.client.written, plcSuperseded: this.client.superseded } : {}),
    };
  }

  publish(v: Verdict): void {
    const cam = this.cams.get(v.cameraId);
    if (!cam) return;
    cam.onVerdict(v);
    this.published++;
    this.client?.write(v);
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    this.running = false;
    await this.client?.stop().catch((e: unknown) => this.log.warn(`OPC UA client stop: ${messageOf(e)}`));
    await this.server?.shutdown(500);
  }
}
