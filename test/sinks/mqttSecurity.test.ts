import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttSink, type MqttSettings } from '../../src/sinks/mqtt/mqttSink.js';
import { tempDir } from '../helpers/fixtures.js';
import { testLine } from '../helpers/line.js';
import { freePort, waitFor } from '../helpers/peers.js';

/**
 * mosquitto with TLS (our own throw-away CA), client certificates and a password file: the sink must connect
 * with each, and be refused (not ready, no crash) with the wrong secret.
 */
const dir = tempDir('mqtt-tls');
const f = (n: string): string => path.join(dir, n);
const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });

function makePki(): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=inspectd-test-ca',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
  );
  for (const [name, cn] of [
    ['server', 'localhost'],
    ['client', 'inspectd'],
  ]) {
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
    );
    writeFileSync(
      f(`${name}.ext`),
      name === 'server' ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n',
    );
    openssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.crt`),
    );
  }
  execFileSync('mosquitto_passwd', ['-b', '-c', f('passwd'), 'line1', 's3cret'], { stdio: 'ignore' });
  writeFileSync(f('mqtt-password'), 's3cret\n');
  // mosquitto started as root drops to its own user: it must be able to read the test PKI.
  chmodSync(dir, 0o755);
  for (const n of readdirSync(dir)) chmodSync(f(n), 0o644);
}

const settings = (url: string, extra: Partial<MqttSettings> = {}): MqttSettings => ({
  url,
  prefix: 'insp',
  clientId: '',
  username: '',
  password: '',
  passwordFile: '',
  tls: { ca: '', cert: '', key: '', rejectUnauthorized: true },
  statsIntervalSec: 0,
  maxInflight: 100,
  embedded: { host: '127.0.0.1', port: 0 },
  ...extra,
});

let t: Awaited<ReturnType<typeof testLine>>;

async function connects(s: MqttSettings, ms = 8000): Promise<boolean> {
  const sink = new MqttSink(t.context(s));
  await sink.start();
  try {
    await waitFor(() => sink.health().ready, 'connect', ms);
    return true;
  } catch {
    return false;
  } finally {
    await sink.stop();
  }
}

describe('MQTT security against mosquitto', () => {
  let tlsPort: number;
  let pwPort: number;
  let proc: ReturnType<typeof spawn>;

  beforeAll(async () => {
    t = await testLine();
    makePki();
    tlsPort = await freePort();
    pwPort = await freePort();
    writeFileSync(
      f('mosquitto.conf'),
      [
        'per_listener_settings true',
        `listener ${tlsPort} 127.0.0.1`,
        `cafile ${f('ca.crt')}`,
        `certfile ${f('server.crt')}`,
        `keyfile ${f('server.key')}`,
        'require_certificate true',
        'allow_anonymous true',
        `listener ${pwPort} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${f('passwd')}`,
        '',
      ].join('\n'),
    );
    proc = spawn('/usr/sbin/mosquitto', ['-c', f('mosquitto.conf')], { stdio: 'ignore' });
    for (const port of [tlsPort, pwPort]) {
      await waitFor(
        () =>
          new Promise<boolean>((resolve) =>
            net
              .connect(port, '127.0.0.1', function (this: net.Socket) {
                this.destroy();
                resolve(true);
              })
              .once('error', () => resolve(false)),
          ),
        `mosquitto on ${port}`,
        10_000,
      );
    }
  });
  afterAll(async () => {
    proc?.kill('SIGTERM');
    await t?.close();
  });

  it('TLS with a client certificate: connects; without the client certificate or with an unknown CA: refused', async () => {
    const url = `mqtts://localhost:${tlsPort}`;
    expect(
      await connects(
        settings(url, {
          tls: { ca: f('ca.crt'), cert: f('client.crt'), key: f('client.key'), rejectUnauthorized: true },
        }),
      ),
    ).toBe(true);
    expect(
      await connects(
        settings(url, { tls: { ca: f('ca.crt'), cert: '', key: '', rejectUnauthorized: true } }),
        3000,
      ),
    ).toBe(false);
    expect(
      await connects(
        settings(url, {
          tls: { ca: '', cert: f('client.crt'), key: f('client.key'), rejectUnauthorized: true },
        }),
        3000,
      ),
    ).toBe(false);
  });

  it('user and password, from the config or from a credentials file; a wrong password is refused', async () => {
    const url = `mqtt://127.0.0.1:${pwPort}`;
    expect(await connects(settings(url, { username: 'line1', password: 's3cret' }))).toBe(true);
    expect(await connects(settings(url, { username: 'line1', passwordFile: f('mqtt-password') }))).toBe(true);
    expect(await connects(settings(url, { username: 'line1', password: 'wrong' }), 3000)).toBe(false);
  });

  it('an unreadable secret file is a clear error naming the setting', async () => {
    const sink = new MqttSink(
      t.context(
        settings(`mqtt://127.0.0.1:${pwPort}`, { username: 'line1', passwordFile: '/nonexistent/pw' }),
      ),
    );
    await expect(sink.start()).rejects.toThrow(/mqtt passwordFile file \/nonexistent\/pw cannot be read/);
  });
});
