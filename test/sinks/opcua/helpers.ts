import path from 'node:path';
import {
  AttributeIds,
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  type ClientSession,
  type OPCUAClientOptions,
  type UserIdentityInfo,
} from 'node-opcua';
import pino from 'pino';
import { Daemon } from '../../../src/app/daemon.js';
import { loadConfig } from '../../../src/config/load.js';
import { tempDir } from '../../helpers/fixtures.js';
import { demoConfig } from '../../helpers/line.js';
import { freePort } from '../../helpers/peers.js';

export const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/**
 * The real daemon in this process (recipes, pipelines, MQTT, OPC UA as `inspectd run` wires them) on the
 * sim camera and the demo recipe; `opcua` overrides the OPC UA section.
 */
export async function startDaemon(
  opcua: Record<string, unknown>,
  camera: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) {
  const dir = tempDir('opcua-daemon');
  const port = await freePort();
  const file = demoConfig(
    {
      mqtt: { embedded: { host: '127.0.0.1', port: await freePort() }, statsIntervalSec: 0 },
      http: { port: await freePort() },
      archive: { dir: '' },
      opcua: { enabled: true, port, pkiDir: path.join(dir, 'pki'), ...opcua },
      shutdownTimeoutSec: 3,
      // These tests are about OPC UA: a busy test machine dropping frames must not make the line degraded.
      health: { maxDropRatio: 1 },
      ...extra,
    },
    { queue: { size: 2, policy: 'drop-oldest' }, ...camera },
  );
  const daemon = await Daemon.start(loadConfig(file, {}), log, {});
  return { daemon, endpoint: `opc.tcp://127.0.0.1:${port}/inspectd`, dir };
}

/** A node-opcua client session; the caller closes it with `close()`. */
export async function connect(
  endpoint: string,
  o: Partial<OPCUAClientOptions> & { identity?: UserIdentityInfo } = {},
): Promise<{ client: OPCUAClient; session: ClientSession; close: () => Promise<void> }> {
  const { identity, ...options } = o;
  const client = OPCUAClient.create({
    endpointMustExist: false,
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    connectionStrategy: { maxRetry: 1, initialDelay: 100, maxDelay: 200 },
    ...options,
  });
  await client.connect(endpoint);
  try {
    const session = await client.createSession(identity);
    return {
      client,
      session,
      close: async () => {
        await session.close().catch(() => {});
        await client.disconnect();
      },
    };
  } catch (e) {
    await client.disconnect();
    throw e;
  }
}

export const readValue = async (session: ClientSession, nodeId: string): Promise<unknown> =>
  (await session.read({ nodeId, attributeId: AttributeIds.Value })).value.value;
