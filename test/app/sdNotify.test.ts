import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadUnixDgram, SdNotifier, type UnixDgramSocket } from '../../src/app/sdNotify.js';

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

function captureLog(): { log: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await sleep(10);
  }
}

const unixDgram = loadUnixDgram();
const SYSTEMD_NOTIFY = ['/usr/bin/systemd-notify', '/bin/systemd-notify'].find((p) => existsSync(p));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'inspectd-sdnotify-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('without NOTIFY_SOCKET', () => {
  it('is a no-op that never throws', () => {
    const { log, lines } = captureLog();
    const n = SdNotifier.fromEnv({ WATCHDOG_USEC: '1000' }, log);
    expect(n.enabled).toBe(false);
    expect(n.watchdogIntervalMs).toBeNull();
    let asked = 0;
    n.ready('up');
    n.status('x');
    n.watchdog();
    n.stopping();
    n.startWatchdog(() => (asked++, true));
    n.stop();
    expect(asked).toBe(0);
    expect(lines).toEqual([]);
  });
});

// A real AF_UNIX SOCK_DGRAM receiver standing in for systemd's notify socket.
describe.skipIf(!unixDgram)('over unix-dgram, to a datagram socket', () => {
  let sock: UnixDgramSocket | undefined;
  let socketPath: string;
  let received: string[];

  beforeEach(() => {
    socketPath = path.join(dir, 'notify');
    received = [];
    sock = unixDgram!.createSocket('unix_dgram', (buf) => received.push(buf.toString()));
    sock.bind(socketPath);
  });
  afterEach(() => {
    sock?.close();
    sock = undefined;
  });

  it('sends READY, STATUS, WATCHDOG and STOPPING with the right text', async () => {
    const { log, lines } = captureLog();
    const n = SdNotifier.fromEnv({ NOTIFY_SOCKET: socketPath }, log);
    expect(n.enabled).toBe(true);
    expect(n.transportKind).toBe('unix-dgram');
    n.ready('2 cameras, model m1');
    n.status('line A: 120 frames/min\nsecond line');
    n.watchdog();
    n.stopping();
    n.ready();
    await waitFor(() => received.length === 5);
    expect(received).toEqual([
      'READY=1\nSTATUS=2 cameras, model m1',
      'STATUS=line A: 120 frames/min second line',
      'WATCHDOG=1',
      'STOPPING=1',
      'READY=1',
    ]);
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
  });

  it('pings WATCHDOG=1 every WATCHDOG_USEC/2 only while healthy', async () => {
    const { log, lines } = captureLog();
    const n = SdNotifier.fromEnv(
      { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '100000', WATCHDOG_PID: String(process.pid) },
      log,
    );
    expect(n.watchdogIntervalMs).toBe(50);
    let healthy = true;
    n.startWatchdog(() => healthy);
    try {
      await waitFor(() => received.length >= 4);
      expect(new Set(received)).toEqual(new Set(['WATCHDOG=1']));

      healthy = false;
      await sleep(60); // a tick that saw `healthy` before the flip has sent by now
      const frozen = received.length;
      await sleep(300);
      expect(received.length).toBe(frozen);
      expect(lines.filter((l) => l.msg.startsWith('unhealthy'))).toHaveLength(1);

      healthy = true;
      await waitFor(() => received.length >= frozen + 2);
      expect(lines.some((l) => l.msg.includes('resumed'))).toBe(true);
    } finally {
      n.stop();
    }
    await sleep(20);
    const stopped = received.length;
    await sleep(200);
    expect(received.length).toBe(stopped);
  });

  it('treats a throwing health check as unhealthy', async () => {
    const { log, lines } = captureLog();
    const n = SdNotifier.fromEnv({ NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '40000' }, log);
    n.startWatchdog(() => {
      throw new Error('pipeline gone');
    });
    await sleep(150);
    n.stop();
    expect(received).toEqual([]);
    expect(lines.some((l) => l.msg.includes('health check threw'))).toBe(true);
  });

  it('has no watchdog when WATCHDOG_PID names another process', () => {
    const n = SdNotifier.fromEnv(
      { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '100000', WATCHDOG_PID: String(process.pid + 1) },
      captureLog().log,
    );
    expect(n.enabled).toBe(true);
    expect(n.watchdogIntervalMs).toBeNull();
    let asked = 0;
    n.startWatchdog(() => (asked++, true));
    n.stop();
    expect(asked).toBe(0);
  });

  it.skipIf(!SYSTEMD_NOTIFY)('falls back to the real systemd-notify binary', async () => {
    const n = SdNotifier.fromEnv({ NOTIFY_SOCKET: socketPath }, captureLog().log, {
      transport: 'systemd-notify',
    });
    expect(n.transportKind).toBe('systemd-notify');
    n.ready('via systemd-notify');
    // systemd-notify (systemd >= 246) follows with BARRIER=1 and waits for us to drop its fd.
    await waitFor(() => received.some((m) => m.startsWith('READY=1')));
    expect(received).toContain('READY=1\nSTATUS=via systemd-notify');
  });
});

describe('failures', () => {
  it('logs a send failure once and never throws', () => {
    if (!unixDgram) return;
    const { log, lines } = captureLog();
    const n = SdNotifier.fromEnv({ NOTIFY_SOCKET: path.join(dir, 'nobody-listens') }, log);
    expect(() => {
      n.ready();
      n.watchdog();
      n.status('s');
    }).not.toThrow();
    expect(lines.filter((l) => l.level === 40 && l.msg.startsWith('sd_notify failed'))).toHaveLength(1);
    expect(lines.filter((l) => l.level === 20 && l.msg.startsWith('sd_notify failed'))).toHaveLength(2);
  });
});

// The fallback's arguments, checked with a stand-in for systemd-notify that records them.
describe('over systemd-notify', () => {
  async function fakeNotify(exitCode = 0): Promise<{ bin: string; record: string }> {
    const bin = path.join(dir, 'systemd-notify');
    const record = path.join(dir, 'calls');
    await writeFile(
      bin,
      // One write per call (O_APPEND): concurrent calls must not interleave.
      `#!/bin/sh\nline="socket=$NOTIFY_SOCKET"\nfor a in "$@"; do line="$line|$a"; done\n` +
        `printf '%s\\n' "$line" >> "${record}"\nexit ${exitCode}\n`,
    );
    await chmod(bin, 0o755);
    return { bin, record };
  }
  const calls = async (record: string): Promise<string[]> =>
    existsSync(record) ? (await readFile(record, 'utf8')).trim().split('\n') : [];

  it('passes each assignment as one argument, with NOTIFY_SOCKET in its environment', async () => {
    const { bin, record } = await fakeNotify();
    const n = SdNotifier.fromEnv({ NOTIFY_SOCKET: '@/org/test/notify' }, captureLog().log, {
      notifyBin: bin,
    });
    // An abstract socket: unix-dgram cannot address it, so systemd-notify is chosen.
    expect(n.transportKind).toBe('systemd-notify');
    n.ready('ready: 2 cameras');
    await waitFor(() => existsSync(record)); // one at a time: two children may finish in any order
    n.stopping();
    await waitFor(() => readFileLines(record) >= 2);
    expect(await calls(record)).toEqual([
      'socket=@/org/test/notify|READY=1|STATUS=ready: 2 cameras',
      'socket=@/org/test/notify|STOPPING=1',
    ]);
  });

  it('logs a failing systemd-notify once', async () => {
    const { bin, record } = await fakeNotify(1);
    const { log, lines } = captureLog();
    const n = SdNotifier.fromEnv({ NOTIFY_SOCKET: '/run/none' }, log, {
      transport: 'systemd-notify',
      notifyBin: bin,
    });
    n.watchdog();
    n.watchdog();
    await waitFor(() => lines.filter((l) => l.msg.startsWith('sd_notify failed')).length === 2);
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
    expect(await calls(record)).toEqual(['socket=/run/none|WATCHDOG=1', 'socket=/run/none|WATCHDOG=1']);
  });

  it('is a no-op (with a warning) when there is no way to write to the socket', () => {
    const { log, lines } = captureLog();
    const n = SdNotifier.fromEnv({ NOTIFY_SOCKET: '@abstract' }, log, {
      notifyBin: path.join(dir, 'missing'),
      transport: 'unix-dgram',
    });
    expect(n.enabled).toBe(false);
    n.ready();
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
  });
});

function readFileLines(p: string): number {
  return readFileSync(p, 'utf8').trim().split('\n').length;
}
