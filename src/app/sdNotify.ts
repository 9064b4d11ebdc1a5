/**
 * sd_notify(3) for Type=notify units: READY/STOPPING/STATUS and the service watchdog.
 *
 * Why this transport: NOTIFY_SOCKET is an AF_UNIX SOCK_DGRAM socket, which neither `dgram` nor `net`
 * can write to. Two ways remain without writing our own addon:
 *  1. `unix-dgram` (optional dependency; a small nan addon built by node-gyp at install, by a Node
 *     core maintainer, the one zigbee2mqtt uses): an in-process sendto(), so systemd sees our own
 *     PID as sender and NotifyAccess=main would do; no process per watchdog ping. Preferred.
 *  2. `systemd-notify VAR=VALUE...` (always there with systemd): a child process sends, so the unit
 *     needs NotifyAccess=all; since systemd 246 it waits on BARRIER=1, so the manager has read the
 *     message (and attributed it via the cgroup) before the child exits. Used when the addon did not
 *     build or load, or for abstract (`@...`) sockets, which unix-dgram cannot address (it strncpy()s
 *     the path, dropping the leading NUL).
 * The unit sets NotifyAccess=all so that a box where the addon failed to build still starts: with
 * Type=notify a lost READY=1 means the service never comes up. The cgroup holds only us.
 *
 * Nothing here throws into the caller: sd_notify is advisory, a failure is logged once.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger } from '../log/logger.js';

/** The part of `unix-dgram` (CommonJS, untyped) we use. */
export interface UnixDgramSocket {
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'message', listener: (buf: Buffer) => void): unknown;
  bind(path: string): void;
  send(buf: Buffer, offset: number, length: number, path: string, callback: (err?: Error) => void): void;
  close(): void;
}

export interface UnixDgramModule {
  createSocket(type: 'unix_dgram', listener?: (buf: Buffer) => void): UnixDgramSocket;
}

let unixDgram: UnixDgramModule | null | undefined;

/** `unix-dgram` if it is installed and its addon loads, else null (looked up once). */
export function loadUnixDgram(): UnixDgramModule | null {
  if (unixDgram === undefined) {
    try {
      unixDgram = createRequire(import.meta.url)('unix-dgram') as UnixDgramModule;
    } catch {
      unixDgram = null;
    }
  }
  return unixDgram;
}

export type SdTransportKind = 'unix-dgram' | 'systemd-notify';

export interface SdNotifierOptions {
  /** Force a transport (tests); default: unix-dgram where it can, else systemd-notify. */
  transport?: SdTransportKind;
  /** The systemd-notify binary; default: the first of /usr/bin, /bin that exists. */
  notifyBin?: string;
}

interface Transport {
  readonly kind: SdTransportKind;
  send(msg: string, done: (err?: Error) => void): void;
}

/** One socket per message: a held unix-dgram socket polls for reads and would keep Node alive. */
class UnixDgramTransport implements Transport {
  readonly kind = 'unix-dgram';
  constructor(
    private readonly mod: UnixDgramModule,
    private readonly path: string,
  ) {}

  send(msg: string, done: (err?: Error) => void): void {
    let sock: UnixDgramSocket | undefined;
    let err: Error | undefined;
    try {
      sock = this.mod.createSocket('unix_dgram');
      sock.on('error', (e) => (err ??= e));
      const buf = Buffer.from(msg);
      sock.send(buf, 0, buf.length, this.path, (e) => (err ??= e));
    } catch (e) {
      err ??= e instanceof Error ? e : new Error(String(e));
    } finally {
      try {
        sock?.close();
      } catch {
        // closing a socket we only sent on: nothing to report
      }
    }
    done(err);
  }
}

const SPAWN_TIMEOUT_MS = 10_000;
const MAX_IN_FLIGHT = 4;

class SystemdNotifyTransport implements Transport {
  readonly kind = 'systemd-notify';
  private inFlight = 0;
  constructor(
    private readonly bin: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  send(msg: string, done: (err?: Error) => void): void {
    // A manager that does not answer the barrier must not pile up children (one per ping).
    if (this.inFlight >= MAX_IN_FLIGHT) {
      done(new Error(`${MAX_IN_FLIGHT} systemd-notify calls still running; message dropped`));
      return;
    }
    let finished = false;
    const finish = (err?: Error): void => {
      if (finished) return;
      finished = true;
      this.inFlight--;
      done(err);
    };
    this.inFlight++;
    try {
      const child = spawn(this.bin, msg.split('\n'), {
        env: this.env,
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: SPAWN_TIMEOUT_MS,
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', finish);
      child.on('close', (code, signal) => {
        if (code === 0) finish();
        else finish(new Error(`${this.bin} exited ${code ?? signal}: ${stderr.trim()}`));
      });
    } catch (e) {
      finish(e instanceof Error ? e : new Error(String(e)));
    }
  }
}

function findNotifyBin(): string | undefined {
  return ['/usr/bin/systemd-notify', '/bin/systemd-notify'].find((p) => existsSync(p));
}

/** Half the watchdog period, per sd_watchdog_enabled(3); null when the watchdog is off or not ours. */
function watchdogUsec(env: NodeJS.ProcessEnv): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isInteger(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== process.pid) return null;
  return usec;
}

export class SdNotifier {
  private timer: NodeJS.Timeout | undefined;
  private failed = false;
  private unhealthy = false;

  private constructor(
    private readonly transport: Transport | null,
    private readonly watchdogUsec: number | null,
    private readonly log: Logger,
  ) {}

  /** A notifier for NOTIFY_SOCKET in `env`; every call is a no-op when it is unset. */
  static fromEnv(env: NodeJS.ProcessEnv, log: Logger, opts: SdNotifierOptions = {}): SdNotifier {
    const socket = env.NOTIFY_SOCKET;
    if (!socket) return new SdNotifier(null, null, log);
    const wd = watchdogUsec(env);
    try {
      const mod = loadUnixDgram();
      const want = opts.transport;
      if (want !== 'systemd-notify' && mod && socket.startsWith('/')) {
        return new SdNotifier(new UnixDgramTransport(mod, socket), wd, log);
      }
      const bin = opts.notifyBin ?? findNotifyBin();
      if (want !== 'unix-dgram' && bin) {
        if (!want) {
          const why = mod ? 'the socket is not a filesystem path' : 'unix-dgram is not installed';
          log.info({ socket, bin }, `sd_notify via systemd-notify (${why}); the unit needs NotifyAccess=all`);
        }
        return new SdNotifier(new SystemdNotifyTransport(bin, { ...env }), wd, log);
      }
      log.warn(
        { socket, unixDgram: Boolean(mod), systemdNotify: bin ?? null },
        'NOTIFY_SOCKET is set but no way to write to it: systemd will not see readiness or watchdog pings',
      );
    } catch (err) {
      log.warn({ err }, 'sd_notify setup failed; notifications disabled');
    }
    return new SdNotifier(null, null, log);
  }

  /** Whether messages go anywhere. */
  get enabled(): boolean {
    return this.transport !== null;
  }

  get transportKind(): SdTransportKind | null {
    return this.transport?.kind ?? null;
  }

  /** The ping period startWatchdog uses (half of WatchdogSec), or null when the watchdog is off. */
  get watchdogIntervalMs(): number | null {
    return this.transport && this.watchdogUsec ? Math.max(1, Math.floor(this.watchdogUsec / 2000)) : null;
  }

  ready(status?: string): void {
    this.send(status === undefined ? ['READY=1'] : ['READY=1', `STATUS=${oneLine(status)}`]);
  }

  stopping(): void {
    this.send(['STOPPING=1']);
  }

  status(text: string): void {
    this.send([`STATUS=${oneLine(text)}`]);
  }

  watchdog(): void {
    this.send(['WATCHDOG=1']);
  }

  /**
   * Pings WATCHDOG=1 every WatchdogSec/2 while `isHealthy()` holds. A stalled pipeline stops the
   * pings and systemd restarts the service (Restart=on-failure covers watchdog timeouts).
   */
  startWatchdog(isHealthy: () => boolean): void {
    const every = this.watchdogIntervalMs;
    if (every === null || this.timer) return;
    const tick = (): void => {
      let ok: boolean;
      try {
        ok = isHealthy();
      } catch (err) {
        this.log.warn({ err }, 'watchdog health check threw; treating as unhealthy');
        ok = false;
      }
      if (ok) {
        if (this.unhealthy) this.log.info('healthy again; watchdog pings resumed');
        this.unhealthy = false;
        this.watchdog();
      } else if (!this.unhealthy) {
        this.unhealthy = true;
        this.log.warn(
          { watchdogSec: (this.watchdogUsec ?? 0) / 1e6 },
          'unhealthy: withholding watchdog pings; systemd restarts the service if this lasts',
        );
      }
    };
    tick();
    this.timer = setInterval(tick, every);
    this.timer.unref();
  }

  /** Stops the watchdog pings; other calls keep working. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private send(lines: string[]): void {
    const transport = this.transport;
    if (!transport) return;
    const msg = lines.join('\n');
    try {
      transport.send(msg, (err) => err && this.fail(err, msg));
    } catch (err) {
      this.fail(err, msg);
    }
  }

  private fail(err: unknown, msg: string): void {
    try {
      const obj = { err, transport: this.transport?.kind, msg };
      if (this.failed) {
        this.log.debug(obj, 'sd_notify failed');
      } else {
        this.failed = true;
        this.log.warn(obj, 'sd_notify failed (further failures logged at debug)');
      }
    } catch {
      // a logger that throws must not take the caller down either
    }
  }
}

/** sd_notify messages are newline-separated assignments: a newline would start a new variable. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}
