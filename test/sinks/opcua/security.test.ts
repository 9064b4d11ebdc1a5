import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  UserTokenType,
} from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../../src/app/daemon.js';
import { hashPassword } from '../../../src/core/users.js';
import { tempDir } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/peers.js';
import { connect, readValue, startDaemon } from './helpers.js';

describe('OPC UA security (default modes: Sign + SignAndEncrypt, Basic256Sha256, users, own trust list)', () => {
  let d: { daemon: Daemon; endpoint: string; dir: string };
  const clientPki = path.join(tempDir('client-pki'), 'pki');
  let certs: OPCUACertificateManager;
  const secure = () => ({
    securityMode: MessageSecurityMode.SignAndEncrypt,
    securityPolicy: SecurityPolicy.Basic256Sha256,
    clientCertificateManager: certs,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
  });
  const user = { type: UserTokenType.UserName as const, userName: 'plc', password: 'line-1-secret' };

  beforeAll(async () => {
    const usersFile = path.join(tempDir('users'), 'opcua-users');
    writeFileSync(usersFile, `plc:${hashPassword('line-1-secret')}\n`);
    d = await startDaemon({ usersFile });
    certs = new OPCUACertificateManager({
      rootFolder: clientPki,
      automaticallyAcceptUnknownCertificate: true,
    });
    await certs.initialize();
  });
  afterAll(async () => {
    await d?.daemon.stop();
    await certs?.dispose();
  });

  it('offers no None endpoint and no anonymous login', async () => {
    const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 } });
    await client.connect(d.endpoint);
    const endpoints = await client.getEndpoints();
    await client.disconnect();
    expect(new Set(endpoints.map((e) => MessageSecurityMode[e.securityMode]))).toEqual(
      new Set(['Sign', 'SignAndEncrypt']),
    );
    expect(new Set(endpoints.map((e) => e.securityPolicyUri!.split('#')[1]))).toEqual(
      new Set(['Basic256Sha256']),
    );
    const tokens = endpoints.flatMap((e) => e.userIdentityTokens!.map((t) => UserTokenType[t.tokenType]));
    expect(tokens).not.toContain('Anonymous');
    expect(tokens).toContain('UserName');
    await expect(connect(d.endpoint, { connectionStrategy: { maxRetry: 0 } })).rejects.toThrow();
  });

  it('an untrusted client certificate is refused and lands in pki/server/rejected; trusted by moving it, the user logs in', async () => {
    await expect(connect(d.endpoint, { ...secure(), identity: user })).rejects.toThrow();
    const rejected = path.join(d.dir, 'pki', 'server', 'rejected');
    const file = await waitFor(
      () => readdirSync(rejected).find((f) => f.endsWith('.pem') || f.endsWith('.der')),
      'the rejected certificate',
    );
    // What an operator does after checking the certificate (docs/OPCUA.md): move it to trusted/certs.
    const trusted = path.join(d.dir, 'pki', 'server', 'trusted', 'certs');
    mkdirSync(trusted, { recursive: true });
    renameSync(path.join(rejected, file), path.join(trusted, file));
    // The state a client retrying during the move can leave: the certificate written to rejected/ again.
    copyFileSync(path.join(trusted, file), path.join(rejected, file));
    const c = await waitFor(
      () => connect(d.endpoint, { ...secure(), identity: user }).catch(() => undefined),
      'a session once the certificate is trusted (the store watches its folders)',
      90_000,
      500,
    );
    try {
      expect(existsSync(path.join(trusted, file))).toBe(true);
      expect(existsSync(path.join(rejected, file))).toBe(false);
      expect(typeof (await readValue(c.session, 'ns=1;s=cam1.Verdict'))).toBe('boolean');
    } finally {
      await c.close();
    }
  });

  it('with a trusted certificate: anonymous and a wrong password are refused; Sign works too', async () => {
    const anon = await connect(d.endpoint, secure()).catch((e: Error) => e);
    const wrong = await connect(d.endpoint, { ...secure(), identity: { ...user, password: 'wrong' } }).catch(
      (e: Error) => e,
    );
    // The endpoint carries no anonymous token policy, so an anonymous session cannot even be asked for.
    expect(String(anon)).toMatch(/ANONYMOUS user token policy/);
    expect(String(wrong)).toMatch(/BadUserAccessDenied/);
    const c = await connect(d.endpoint, {
      ...secure(),
      securityMode: MessageSecurityMode.Sign,
      identity: user,
    });
    await c.close();
  });
});
