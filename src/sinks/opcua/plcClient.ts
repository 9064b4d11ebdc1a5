import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AttributeIds,
  coerceNodeId,
  DataType,
  OPCUACertificateManager,
  OPCUAClient,
  StatusCodes,
  UserTokenType,
  type ClientSession,
  type UserIdentityInfo,
  type WriteValueOptions,
} from 'node-opcua';
import type { Logger } from 'pino';
import { InspectdError, messageOf } from '../../core/errors.js';
import type { Verdict } from '../../core/verdict.js';
import { Throttle } from '../../log/logger.js';
import { securityMode, securityPolicy } from './server.js';
import type { OpcuaClientSettings, PlcNodes } from './settings.js';

type Field = Exclude<keyof PlcNodes, 'camera'>;
// ResultId last: one Write request carries them all in this order, so a PLC that watches ResultId (and a
// server that applies the request in order, as node-opcua does) never sees a new id beside an old PartId.
const FIELDS: Field[] = ['verdict', 'score', 'partId', 'resultId'];

/** A verdict field as the PLC node's own type wants it (a Boolean verdict may land in an Int or a String). */
export function plcValue(field: Field, v: Verdict, type: DataType): { dataType: DataType; value: unknown } {
  const raw: boolean | number | string =
    field === 'verdict'
      ? v.ok
      : field === 'score'
        ? v.score
        : field === 'resultId'
          ? v.resultId
          : (v.partId ?? '');
  switch (type) {
    case DataType.Boolean:
      return { dataType: type, value: typeof raw === 'boolean' ? raw : Boolean(raw) };
    case DataType.String:
      return { dataType: type, value: typeof raw === 'boolean' ? (raw ? 'OK' : 'NG') : String(raw) };
    case DataType.Float:
    case DataType.Double:
      return { dataType: type, value: Number(raw) };
    case DataType.SByte:
    case DataType.Byte:
    case DataType.Int16:
    case DataType.UInt16:
    case DataType.Int32:
    case DataType.UInt32:
    case DataType.Int64:
    case DataType.UInt64:
      return { dataType: type, value: typeof raw === 'boolean' ? Number(raw) : Math.round(Number(raw)) };
    default:
      throw new InspectdError(
        `PLC node for ${field} has data type ${DataType[type]}, which inspectd cannot write`,
        {
          fix: 'point it at a Boolean, number or String variable',
        },
      );
  }
}

/**
 * Client mode: writes each camera's latest verdict into nodes of a PLC's own OPC UA server. node-opcua
 * reconnects with back-off (forever, up to reconnectMaxSec) and restores or recreates the session; until
 * then the latest verdict per camera is held (older ones are superseded: a PLC tag holds one value) and written
 * once the session is back.
 */
export class PlcClient {
  private client?: OPCUAClient;
  private session?: ClientSession;
  private readonly pending = new Map<string, Verdict>();
  private readonly types = new Map<string, DataType>();
  private writing = false;
  private stopped = false;
  private connected = false;
  written = 0;
  superseded = 0;
  private readonly throttle: Throttle;

  constructor(
    private readonly s: OpcuaClientSettings,
    private readonly pkiDir: string,
    cameras: readonly string[],
    private readonly log: Logger,
  ) {
    this.throttle = new Throttle(log);
    if (!s.endpointUrl)
      throw new InspectdError('OPC UA client mode is on but has no endpoint', {
        subject: 'opcua.client.endpointUrl',
        fix: "set opcua.client.endpointUrl to the PLC's opc.tcp:// URL, or client.enabled: false",
      });
    if (s.securityMode !== 'None' && s.securityPolicy === 'None')
      throw new InspectdError(`OPC UA client mode: securityMode ${s.securityMode} needs a security policy`, {
        subject: 'opcua.client.securityPolicy',
        value: s.securityPolicy,
        fix: 'set opcua.client.securityPolicy to Basic256Sha256 (or securityMode to None)',
      });
    const unknown = s.nodes.map((n) => n.camera).filter((c) => !cameras.includes(c));
    if (unknown.length)
      throw new InspectdError(`opcua.client.nodes names unknown camera(s) ${unknown.join(', ')}`, {
        subject: 'opcua.client.nodes',
        fix: `use camera ids from "cameras": ${cameras.join(', ')}`,
      });
    const empty = s.nodes.filter((n) => FIELDS.every((f) => !n[f])).map((n) => n.camera);
    if (empty.length)
      throw new InspectdError(`opcua.client.nodes: ${empty.join(', ')} names no PLC node to write`, {
        subject: 'opcua.client.nodes',
        fix: `name at least one of ${FIELDS.join(', ')} for each camera listed`,
      });
  }

  ready(): boolean {
    return this.connected && this.session !== undefined;
  }

  private identity(): UserIdentityInfo {
    if (!this.s.username) return { type: UserTokenType.Anonymous };
    let password = this.s.password;
    if (this.s.passwordFile) {
      try {
        password = readFileSync(this.s.passwordFile, 'utf8').trim();
      } catch (e) {
        throw new InspectdError(
          `OPC UA client password file ${this.s.passwordFile} cannot be read: ${messageOf(e)}`,
          {
            subject: 'opcua.client.passwordFile',
            fix: 'check the path (with systemd: LoadCredential)',
          },
        );
      }
    }
    return { type: UserTokenType.UserName, userName: this.s.username, password };
  }

  /** Connects in the background: a PLC that is down at start must not hold up the daemon. */
  start(): void {
    const identity = this.identity();
    const url = this.s.endpointUrl;
    const pki = new OPCUACertificateManager({
      rootFolder: path.resolve(this.pkiDir, 'client'),
      automaticallyAcceptUnknownCertificate: this.s.acceptUnknownServerCertificate,
      name: 'inspectd-client',
    });
    const client = OPCUAClient.create({
      applicationName: 'inspectd',
      applicationUri: 'urn:inspectd:client',
      clientCertificateManager: pki,
      securityMode: securityMode(this.s.securityMode),
      // Mode None goes with policy None whatever securityPolicy says.
      securityPolicy: securityPolicy(this.s.securityMode === 'None' ? 'None' : this.s.securityPolicy),
      endpointMustExist: false,
      keepSessionAlive: true,
      requestedSessionTimeout: this.s.sessionTimeoutSec * 1000,
      connectionStrategy: { maxRetry: -1, initialDelay: 250, maxDelay: this.s.reconnectMaxSec * 1000 },
    });
    this.client = client;
    client.on('backoff', (n, delay) =>
      this.throttle.warn(
        'backoff',
        { url, attempt: n },
        `PLC ${url} unreachable (attempt ${n}), next try in ${delay} ms`,
      ),
    );
    client.on('connection_lost', () => {
      this.connected = false;
      this.log.warn({ url }, `PLC ${url}: connection lost; verdicts are held and written when it is back`);
    });
    client.on('connection_reestablished', () => {
      this.connected = true;
      this.log.info({ url }, `PLC ${url}: connection re-established`);
      void this.flush();
    });
    client.on('after_reconnection', () => void this.flush());
    void (async () => {
      try {
        await pki.initialize();
        await client.connect(url);
        if (this.stopped) return;
        this.connected = true;
        const session = await client.createSession(identity);
        session.on('session_restored', () => {
          this.log.info({ url }, `PLC ${url}: session restored`);
          void this.flush();
        });
        session.on('keepalive_failure', () =>
          this.log.warn({ url }, `PLC ${url}: session keep-alive failed`),
        );
        // Types first: flush() writes once `session` is set, and a field whose type is not yet known would be
        // left out of the write (CI saw a verdict land without its PartId).
        await this.resolveTypes(session);
        if (this.stopped) return;
        this.session = session;
        this.log.info({ url }, `connected to PLC ${url} (client mode)`);
        await this.flush();
      } catch (e) {
        if (!this.stopped)
          this.log.error({ url, err: messageOf(e) }, `PLC ${url}: client mode failed: ${messageOf(e)}`);
      }
    })();
  }

  /** The built-in type of every configured node: writes must match the PLC's declared types. */
  private async resolveTypes(session: ClientSession): Promise<void> {
    for (const nodes of this.s.nodes)
      for (const id of FIELDS.map((f) => nodes[f]).filter((x): x is string => Boolean(x))) {
        if (this.types.has(id)) continue;
        try {
          this.types.set(id, await session.getBuiltInDataType(coerceNodeId(id)));
        } catch (e) {
          if (this.stopped) return;
          this.log.error({ node: id, err: messageOf(e) }, `PLC node ${id} cannot be read: ${messageOf(e)}`);
        }
      }
  }

  write(v: Verdict): void {
    if (this.stopped) return;
    if (!this.s.nodes.some((n) => n.camera === v.cameraId)) return;
    if (this.pending.has(v.cameraId)) this.superseded++;
    this.pending.set(v.cameraId, v);
    void this.flush();
  }

  private writesFor(v: Verdict): WriteValueOptions[] {
    const out: WriteValueOptions[] = [];
    const nodes = this.s.nodes.find((n) => n.camera === v.cameraId);
    for (const field of FIELDS) {
      const id = nodes?.[field];
      const type = id === undefined ? undefined : this.types.get(id);
      if (type === undefined) continue;
      out.push({
        nodeId: coerceNodeId(id),
        attributeId: AttributeIds.Value,
        value: { value: plcValue(field, v, type) },
      });
    }
    return out;
  }

  private async flush(): Promise<void> {
    if (this.writing || !this.session || !this.connected) return;
    this.writing = true;
    try {
      while (this.pending.size && this.connected) {
        const batch = [...this.pending.values()];
        this.pending.clear();
        const values = batch.flatMap((v) => this.writesFor(v));
        if (!values.length) continue;
        try {
          const results = await this.session.write(values);
          const bad = results.map((r, i) => [r, values[i]] as const).filter(([r]) => r !== StatusCodes.Good);
          for (const [r, wv] of bad)
            this.throttle.warn(
              'write',
              { node: wv.nodeId?.toString(), status: r.name },
              `PLC write to ${wv.nodeId?.toString()} refused: ${r.name}`,
            );
          this.written += batch.length;
        } catch (e) {
          // The session is being repaired: keep the newest verdict of each camera for after it.
          for (const v of batch) if (!this.pending.has(v.cameraId)) this.pending.set(v.cameraId, v);
          this.throttle.warn(
            'write',
            { err: messageOf(e) },
            `PLC write failed, retried after reconnection: ${messageOf(e)}`,
          );
          return;
        }
      }
    } finally {
      this.writing = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.flush().catch(() => {});
    await this.session?.close().catch(() => {});
    await this.client?.disconnect();
  }
}
