import net from 'node:net';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { OpcuaSink } from '../../../src/sinks/opcua/opcuaSink.js';
import { tempDir } from '../../helpers/fixtures.js';
import { testLine } from '../../helpers/line.js';

const settings = (opcua: Record<string, unknown>) => {
  const file = path.join(tempDir('opcua-startup'), 'c.json');
  writeFileSync(file, JSON.stringify({ opcua: { pkiDir: path.join(path.dirname(file), 'pki'), ...opcua } }));
  return loadConfig(file, {}).opcua;
};

/** The sink alone on a line whose cameras are not started: these checks fail before any frame matters. */
let t: Awaited<ReturnType<typeof testLine>>;
const sinkWith = (opcua: Record<string, unknown>): OpcuaSink => new OpcuaSink(t.context(settings(opcua)));

describe('OPC UA server start-up errors name the setting and the fix', () => {
  beforeAll(async () => {
    t = await testLine();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('nobody could log in: no anonymous access and no users', async () => {
    const sink = sinkWith({ enabled: true, port: 0 });
    await expect(sink.start()).rejects.toMatchObject({
      message: expect.stringMatching(/nobody could log in/),
      details: { subject: 'opcua.usersFile' },
    });
  });

  it('an unreadable or malformed users file', async () => {
    const missing = sinkWith({ usersFile: '/nonexistent/users' });
    await expect(missing.start()).rejects.toThrow(
      /users file \/nonexistent\/users \(opcua\.usersFile\) cannot be read/,
    );
    const file = path.join(tempDir('users'), 'users');
    writeFileSync(file, 'plc:hunter2\n');
    const bad = sinkWith({ usersFile: file });
    await expect(bad.start()).rejects.toThrow(/line 1 \(user "plc"\): not a hash of the form scrypt\$/);
  });

  it('client mode: no endpoint, an unknown camera, a secure mode without a policy', async () => {
    const start = (client: Record<string, unknown>) =>
      sinkWith({ allowAnonymous: true, port: 0, client: { enabled: true, ...client } }).start();
    await expect(start({})).rejects.toMatchObject({ details: { subject: 'opcua.client.endpointUrl' } });
    const url = 'opc.tcp://127.0.0.1:4840';
    await expect(
      start({ endpointUrl: url, nodes: [{ camera: 'cam9', verdict: 'ns=2;i=1' }] }),
    ).rejects.toThrow(/opcua\.client\.nodes names unknown camera\(s\) cam9/);
    await expect(
      start({ endpointUrl: url, securityMode: 'Sign', securityPolicy: 'None' }),
    ).rejects.toMatchObject({
      details: { subject: 'opcua.client.securityPolicy' },
    });
  });

  it('a port already taken', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const sink = sinkWith({ port, allowAnonymous: true });
      await expect(sink.start()).rejects.toMatchObject({
        message: expect.stringMatching(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`)),
        details: { subject: 'opcua.port' },
      });
      await sink.stop();
    } finally {
      taken.close();
    }
  });
});
