import net from 'node:net';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { coerceNodeId, OPCUAClient, UserTokenType, VariableIds } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../../src/app/daemon.js';
import { splitFirstMessage } from '../../../src/sinks/opcua/transportPatch.js';
import { waitFor } from '../../helpers/peers.js';
import { within } from '../../helpers/waiting.js';
import { connect, readValue, startDaemon } from './helpers.js';

/** An OPC UA TCP message: type (3 letters), chunk type, size, body. */
const message = (type: string, body: Buffer): Buffer => {
  const b = Buffer.alloc(8 + body.length);
  b.write(`${type}F`, 0, 'ascii');
  b.writeUInt32LE(b.length, 4);
  body.copy(b, 8);
  return b;
};

/** A valid HEL: protocol 0, 64 KiB buffers, no message or chunk limit, the endpoint URL. */
const hel = (endpoint: string): Buffer => {
  const url = Buffer.from(endpoint);
  const body = Buffer.alloc(24 + url.length);
  body.writeUInt32LE(0, 0);
  body.writeUInt32LE(65536, 4);
  body.writeUInt32LE(65536, 8);
  body.writeUInt32LE(0, 12);
  body.writeUInt32LE(0, 16);
  body.writeInt32LE(url.length, 20);
  url.copy(body, 24);
  return message('HEL', body);
};

/**
 * Writes `bytes` (each buffer one write) on a raw TCP connection; resolves with what came back once the server
 * closed, or once `enough` says what came is enough.
 */
function rawExchange(
  port: number,
  bytes: Buffer | Buffer[],
  enough = (_got: string[]) => false,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => {
      for (const b of Array.isArray(bytes) ? bytes : [bytes]) s.write(b);
    });
    s.on('data', (d) => {
      got.push(d);
      if (enough(types(Buffer.concat(got)))) s.destroy();
    });
    s.on('close', () => resolve(Buffer.concat(got)));
    s.on('error', () => undefined);
    s.setTimeout(20_000, () => {
      s.destroy();
      reject(new Error('the server neither answered nor closed'));
    });
  });
}

const types = (b: Buffer): string[] => {
  const out: string[] = [];
  for (let at = 0; at + 8 <= b.length; at += b.readUInt32LE(at + 4) || b.length)
    out.push(b.toString('latin1', at, at + 3));
  return out;
};

describe('OPC UA: no client input ends the process (raw TCP, no node-opcua on the client side)', () => {
  let d: { daemon: Daemon; endpoint: string };
  let port: number;

  beforeAll(async () => {
    d = await startDaemon({ securityModes: ['None'], allowAnonymous: true });
    port = Number(new URL(d.endpoint.replace('opc.tcp', 'http')).port);
  });
  afterAll(async () => {
    await d?.daemon.stop();
  });

  /** The daemon still serves: a well-behaved client gets a session and reads a live tag; verdicts go on. */
  const stillServing = async (): Promise<void> => {
    const c = await within(connect(d.endpoint), 'a session for a well-behaved client');
    try {
      const before = (await readValue(c.session, 'ns=1;s=cam1.TotalCount')) as number;
      await waitFor(
        async () => ((await readValue(c.session, 'ns=1;s=cam1.TotalCount')) as number) > before,
        'verdicts still flowing',
      );
    } finally {
      await c.close();
    }
  };

  it('HEL and an oversized MSG chunk in one write: an ERR answer, the connection closed, the daemon alive', async () => {
    for (const size of [6000, 70_000, 1 << 20]) {
      const big = message('MSG', Buffer.alloc(size - 8));
      const answer = await rawExchange(port, Buffer.concat([hel(d.endpoint), big]));
      expect(types(answer)).toEqual(['ACK', 'ERR']);
    }
    await stillServing();
  });

  it('HEL and OPN pipelined in one write: the OPN is answered (it used to be dropped)', async () => {
    // A minimal OpenSecureChannel request with SecurityPolicy None, as a client would pipeline it.
    const policy = Buffer.from('http://opcfoundation.org/UA/SecurityPolicy#None');
    const body = Buffer.concat([
      Buffer.from([0, 0, 0, 0]), // secure channel id
      Buffer.from(Uint32Array.of(policy.length).buffer),
      policy,
      Buffer.from(Uint32Array.of(0xffffffff).buffer), // sender certificate: null
      Buffer.from(Uint32Array.of(0xffffffff).buffer), // receiver thumbprint: null
      Buffer.from(Uint32Array.of(1).buffer), // sequence number
      Buffer.from(Uint32Array.of(1).buffer), // request id
      // OpenSecureChannelRequest (ns=0;i=446), request header, protocol version, Issue, mode None, nonce, lifetime
      Buffer.from([0x01, 0x00, 0xbe, 0x01]),
      Buffer.from([0x00, 0x00]), // authentication token: null NodeId
      Buffer.alloc(8), // timestamp
      Buffer.from(Uint32Array.of(1).buffer), // request handle
      Buffer.from(Uint32Array.of(0).buffer), // return diagnostics
      Buffer.from(Uint32Array.of(0xffffffff).buffer), // audit entry id: null
      Buffer.from(Uint32Array.of(10000).buffer), // timeout hint
      Buffer.from([0x00, 0x00, 0x00]), // additional header: null extension object
      Buffer.from(Uint32Array.of(0).buffer), // client protocol version
      Buffer.from(Uint32Array.of(0).buffer), // request type Issue
      Buffer.from(Uint32Array.of(1).buffer), // security mode None
      Buffer.from(Uint32Array.of(0xffffffff).buffer), // client nonce: null
      Buffer.from(Uint32Array.of(600000).buffer), // requested lifetime
    ]);
    const opn = message('OPN', body);
    const answer = await rawExchange(port, Buffer.concat([hel(d.endpoint), opn]), (got) => got.length >= 2);
    expect(types(answer)).toEqual(['ACK', 'OPN']);
    await stillServing();
  });

  it('random bytes, a first message that claims 4 GiB, a HEL dribbled a byte at a time: each refused or served, the daemon alive', async () => {
    for (let i = 0; i < 20; i++) {
      const junk = Buffer.alloc(1 + Math.floor(Math.random() * 5000));
      for (let k = 0; k < junk.length; k++) junk[k] = Math.floor(Math.random() * 256);
      // Written, then gone: a server waiting for the rest of a message it was promised must not mind.
      await new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.end(junk, () => resolve()));
        s.on('error', () => resolve());
      });
    }
    const huge = Buffer.alloc(16);
    huge.write('HELF', 0, 'ascii');
    huge.writeUInt32LE(0xffffffff, 4);
    expect(types(await rawExchange(port, huge))).toEqual(['ERR']);
    const slow = hel(d.endpoint);
    const answer = await rawExchange(
      port,
      [...slow].map((x) => Buffer.from([x])),
      (got) => got.length >= 1,
    );
    expect(types(answer)[0]).toBe('ACK');
    await stillServing();
  });
});

describe('splitting the first message before the HEL is handled', () => {
  it('waits for a whole message, then gives it and the rest apart; a claim over 64 KiB goes on whole', () => {
    const a = message('HEL', Buffer.alloc(40));
    const b = message('MSG', Buffer.alloc(10));
    expect(splitFirstMessage(a.subarray(0, 5))).toEqual([undefined, a.subarray(0, 5)]);
    expect(splitFirstMessage(a.subarray(0, 20))).toEqual([undefined, a.subarray(0, 20)]);
    const [first, rest] = splitFirstMessage(Buffer.concat([a, b]));
    expect(first).toEqual(a);
    expect(rest).toEqual(b);
    const claim = Buffer.alloc(12);
    claim.writeUInt32LE(1 << 20, 4);
    expect(splitFirstMessage(claim)).toEqual([claim, Buffer.alloc(0)]);
  });
});

describe('a failing sink is contained: it restarts, the rest goes on', () => {
  it("an exception from node-opcua's code restarts the OPC UA sink (readiness says so); any other ends the process", async () => {
    const d = await startDaemon({ securityModes: ['None'], allowAnonymous: true });
    try {
      // A real throw from inside node-opcua, as a library defect would raise it on a client's input.
      let fromLibrary: unknown;
      try {
        coerceNodeId('ns=x;not a node id');
      } catch (e) {
        fromLibrary = e;
      }
      expect(String((fromLibrary as Error).stack)).toMatch(/node-opcua/);
      const totals = d.daemon.journal.totals('cam1').total;
      expect(d.daemon.contain(fromLibrary)).toBe(true);
      expect(d.daemon.readiness().reasons.join()).toMatch(/opcua restarting after a failure/);
      // The pipeline and the journal go on meanwhile.
      await waitFor(
        () => d.daemon.journal.totals('cam1').total > totals + 2,
        'verdicts while OPC UA restarts',
      );
      await waitFor(() => d.daemon.readiness().ready, 'ready again');
      const c = await within(connect(d.endpoint), 'a session on the restarted server');
      await c.close();
      expect(d.daemon.contain(new Error('a bug of our own'))).toBe(false);
    } finally {
      await d.daemon.stop();
    }
  });
});

describe('OPC UA sessions: no client can lock the others out', () => {
  it('50 sessions opened and dropped without closing; then a well-behaved client gets a session at once', async () => {
    const d = await startDaemon({ securityModes: ['None'], allowAnonymous: true, maxSessions: 20 });
    try {
      for (let i = 0; i < 50; i++) {
        const client = OPCUAClient.create({
          endpointMustExist: false,
          connectionStrategy: { maxRetry: 0 },
          requestedSessionTimeout: 50 * 60 * 1000,
        });
        await client.connect(d.endpoint);
        const session = await client.createSession().catch((e: Error) => e);
        if (session instanceof Error) throw session;
        // A client that goes away without CloseSession: its session stays until reaped.
        expect(session.timeout).toBeLessThanOrEqual(60_000);
        await client.disconnect();
      }
      const c = await within(connect(d.endpoint), 'a session for a well-behaved client');
      expect(typeof (await readValue(c.session, 'ns=1;s=cam1.Verdict'))).toBe('boolean');
      await c.close();
    } finally {
      await d.daemon.stop();
    }
  });

  it('one address holding maxSessionsPerClient live sessions is refused more (BadTooManySessions, counted)', async () => {
    const d = await startDaemon({ securityModes: ['None'], allowAnonymous: true, maxSessionsPerClient: 3 });
    const open: Awaited<ReturnType<typeof connect>>[] = [];
    try {
      for (let i = 0; i < 3; i++) open.push(await connect(d.endpoint));
      await expect(connect(d.endpoint)).rejects.toThrow(/BadTooManySessions/);
      const sink = d.daemon.sink('opcua')!;
      expect(sink.stats().rejectedSessions).toBeGreaterThanOrEqual(1);
      expect(d.daemon.readiness().reasons.join()).toMatch(
        /opcua: 1 session\(s\) refused in the last 60 s .*maxSessionsPerClient/,
      );
      // The server's own diagnostics count it too.
      const rejected = await readValue(
        open[0].session,
        `ns=0;i=${VariableIds.Server_ServerDiagnostics_ServerDiagnosticsSummary_RejectedSessionCount}`,
      );
      expect(rejected).toBeGreaterThanOrEqual(1);
      await open.pop()!.close();
      open.push(await within(connect(d.endpoint), 'a session once one is closed'));
    } finally {
      for (const c of open) await c.close();
      await d.daemon.stop();
    }
  });
});

describe('OPC UA users only from the configured sources', () => {
  const tokenTypes = async (endpoint: string): Promise<Set<string>> => {
    const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 } });
    await client.connect(endpoint);
    const endpoints = await client.getEndpoints();
    await client.disconnect();
    return new Set(
      endpoints.flatMap((e) => (e.userIdentityTokens ?? []).map((t) => UserTokenType[t.tokenType])),
    );
  };

  it('no X509 user token is offered unless x509Users; its trust list is pkiDir/user, nothing outside pkiDir', async () => {
    const plain = await startDaemon({ securityModes: ['None'], allowAnonymous: true });
    try {
      expect(await tokenTypes(plain.endpoint)).not.toContain('Certificate');
    } finally {
      await plain.daemon.stop();
    }
    const x509 = await startDaemon({ securityModes: ['None'], allowAnonymous: true, x509Users: true });
    try {
      expect(await tokenTypes(x509.endpoint)).toContain('Certificate');
      expect(existsSync(path.join(x509.dir, 'pki', 'user', 'trusted'))).toBe(true);
    } finally {
      await x509.daemon.stop();
    }
  });
});
