import path from 'node:path';
import {
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  Variant,
  type UAVariable,
} from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../../src/app/daemon.js';
import { tempDir } from '../../helpers/fixtures.js';
import { freePort, waitFor } from '../../helpers/peers.js';
import { startDaemon } from './helpers.js';

/**
 * A PLC's own OPC UA server, as a Siemens or Beckhoff controller exposes one: a few typed variables, a user
 * with a password, SignAndEncrypt only. A real node-opcua server on loopback.
 */
async function startPlc(port: number, pkiDir: string) {
  const pki = new OPCUACertificateManager({
    rootFolder: pkiDir,
    automaticallyAcceptUnknownCertificate: true,
  });
  await pki.initialize();
  const server = new OPCUAServer({
    port,
    host: '127.0.0.1',
    hostname: '127.0.0.1',
    resourcePath: '/plc',
    securityModes: [MessageSecurityMode.SignAndEncrypt],
    securityPolicies: [SecurityPolicy.Basic256Sha256],
    allowAnonymous: false,
    userManager: { isValidUser: (u: string, p: string) => u === 'inspectd' && p === 'plc-secret' },
    serverCertificateManager: pki,
    serverInfo: { applicationUri: 'urn:test:plc' },
  });
  await server.initialize();
  const ns = server.engine.addressSpace!.getOwnNamespace();
  const cell = ns.addObject({
    organizedBy: server.engine.addressSpace!.rootFolder.objects,
    browseName: 'Cell1',
  });
  const vars: Record<string, UAVariable> = {};
  for (const [name, dataType, value] of [
    ['OK', DataType.Boolean, false],
    ['Score', DataType.Float, 0],
    ['ResultId', DataType.String, ''],
    ['PartId', DataType.String, ''],
  ] as const)
    vars[name] = ns.addVariable({
      componentOf: cell,
      browseName: name,
      nodeId: `s=Cell1.${name}`,
      dataType: DataType[dataType],
      accessLevel: 'CurrentRead | CurrentWrite',
      userAccessLevel: 'CurrentRead | CurrentWrite',
      value: new Variant({ dataType, value }),
    });
  await server.start();
  const value = (name: string) => vars[name].readValue().value.value as unknown;
  return { server, value };
}

describe('client mode: verdicts written into a PLC server (SignAndEncrypt, user + password), reconnect and session renewal', () => {
  let d: { daemon: Daemon };
  let plc: Awaited<ReturnType<typeof startPlc>>;
  let plcPort: number;
  const plcPki = path.join(tempDir('plc-pki'), 'pki');

  beforeAll(async () => {
    plcPort = await freePort();
    plc = await startPlc(plcPort, plcPki);
    d = await startDaemon({
      securityModes: ['None'],
      allowAnonymous: true,
      client: {
        enabled: true,
        endpointUrl: `opc.tcp://127.0.0.1:${plcPort}/plc`,
        securityMode: 'SignAndEncrypt',
        securityPolicy: 'Basic256Sha256',
        username: 'inspectd',
        password: 'plc-secret',
        acceptUnknownServerCertificate: true,
        reconnectMaxSec: 1,
        nodes: [
          {
            camera: 'cam1',
            verdict: 'ns=1;s=Cell1.OK',
            score: 'ns=1;s=Cell1.Score',
            resultId: 'ns=1;s=Cell1.ResultId',
            partId: 'ns=1;s=Cell1.PartId',
          },
        ],
      },
    });
  });
  afterAll(async () => {
    await d?.daemon.stop();
    await plc?.server.shutdown(0);
  });

  /** The PLC holds one of the daemon's recent results, each field converted to the PLC node's type. */
  const plcHoldsARecentResult = () => {
    const id = plc.value('ResultId') as string;
    const v = d.daemon.journal.get(id);
    if (!v) return undefined;
    expect(plc.value('OK')).toBe(v.ok);
    expect(plc.value('Score')).toBeCloseTo(v.score, 3); // Float on the PLC side
    expect(plc.value('PartId')).toBe(v.partId);
    return id;
  };

  it('writes each verdict into the configured nodes and reports ready', async () => {
    const first = await waitFor(plcHoldsARecentResult, 'a verdict in the PLC');
    await waitFor(() => {
      const id = plcHoldsARecentResult();
      return id && id !== first;
    }, 'the next verdict in the PLC');
    expect(d.daemon.readiness()).toMatchObject({ ready: true, state: 'ready', reasons: [] });
  });

  it('a PLC restart: not ready while it is down, then a new session and writes resume', async () => {
    await plc.server.shutdown(0);
    await waitFor(() => !d.daemon.readiness().ready, 'not ready while the PLC is down');
    expect(d.daemon.readiness().reasons).toEqual(['opcua not connected']);
    // A new server process on the same port: the old session is gone, the client must create a new one.
    plc = await startPlc(plcPort, plcPki);
    expect(plc.value('ResultId')).toBe('');
    await waitFor(plcHoldsARecentResult, 'verdicts in the restarted PLC', 60_000);
    await waitFor(() => d.daemon.readiness().ready, 'ready again');
  });
});
