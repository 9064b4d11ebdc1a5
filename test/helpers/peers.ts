import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { tempDir } from './fixtures.js';

/** A free TCP port on loopback (bound and released; good enough for tests that start right after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Waits until `check` returns a truthy value (polling), or fails with `what` after `ms`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  ms = 30_000,
  every = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * A real mosquitto broker (Debian's package) on a loopback port. With `persistence`, a folder where it keeps
 * sessions and queued messages across its own restarts (as a plant broker does).
 */
export async function startMosquitto(
  port: number,
  persistence?: string,
): Promise<{ proc: ChildProcess; stop: () => Promise<void> }> {
  const dir = tempDir('mosquitto');
  const conf = path.join(dir, 'mosquitto.conf');
  const keep = persistence
    ? `persistence true\npersistence_location ${persistence}/\nautosave_interval 1\nmax_queued_messages 0\n`
    : 'persistence false\n';
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\n${keep}`);
  const proc = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  // Its own log line says it listens: a second broker failing on a taken port must not look started.
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${err}`);
        if (!/mosquitto version \S+ running/.test(err)) return resolve(false);
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
    `mosquitto on port ${port}`,
    10_000,
  );
  return {
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/** An MQTT subscriber that records every message (topic, payload text, retain flag). */
export async function subscriber(
  url: string,
  topics: string[],
): Promise<{ client: MqttClient; messages: { topic: string; payload: string; retain: boolean }[] }> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 500 });
  const messages: { topic: string; payload: string; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) =>
    messages.push({ topic, payload: payload.toString(), retain: packet.retain }),
  );
  await client.subscribeAsync(topics, { qos: 1 });
  return { client, messages };
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** Temporary folders for the archive and the OPC UA certificates when `configFile` does not name them. */
function unnamedFolders(configFile: string): NodeJS.ProcessEnv {
  const c = JSON.parse(readFileSync(configFile, 'utf8')) as {
    archive?: { dir?: string };
    opcua?: { pkiDir?: string };
  };
  return {
    ...(c.archive?.dir === undefined && { INSPECTD_ARCHIVE_DIR: tempDir('archive') }),
    ...(c.opcua?.pkiDir === undefined && { INSPECTD_OPCUA_PKI_DIR: tempDir('pki') }),
  };
}

/** The daemon as a child process, its JSON log lines collected. */
export function startDaemon(
  configFile: string,
  env: NodeJS.ProcessEnv = {},
): {
  proc: ChildProcess;
  logs: () => { level: number; msg: string; [k: string]: unknown }[];
  exited: Promise<number | null>;
} {
  const proc = spawn(process.execPath, [path.resolve('dist/cli/main.js'), 'run', '--config', configFile], {
    // Tests write only to temporary folders: a journal of its own unless the test names one, and an archive
    // and a certificate store of its own where the configuration names none (the defaults are under var/).
    env: {
      ...process.env,
      INSPECTD_LOG_PRETTY: 'never',
      INSPECTD_JOURNAL: path.join(tempDir('journal'), 'journal.sqlite'),
      ...unnamedFolders(configFile),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A test that times out never reaches its finally: the daemon must not outlive the test worker.
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const logs = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string });
  return { proc, logs, exited };
}
