import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** 1 = stdout (the daemon, for journald), 2 = stderr (CLI commands whose stdout is a report). */
  fd: 1 | 2;
  /** Pretty-print; default: when the destination is a terminal. */
  pretty?: boolean;
}

/** The one root logger; stages and cameras take children ({stage, camera}). */
export function createLogger(opts: LoggerOptions): Logger {
  const tty = opts.fd === 1 ? process.stdout.isTTY : process.stderr.isTTY;
  if (opts.pretty ?? tty) {
    return pino({
      level: opts.level,
      transport: {
        target: 'pino-pretty',
        options: {
          destination: opts.fd,
          colorize: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname',
        },
      },
    });
  }
  return pino(
    { level: opts.level, base: { pid: process.pid } },
    pino.destination({ fd: opts.fd, sync: true }),
  );
}

/** Says a thing once per key (e.g. "images are resized"), however many frames trigger it. */
export class OnceNotifier {
  private readonly seen = new Set<string>();
  constructor(private readonly log: Logger) {}
  info(key: string, obj: object, msg: string): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.log.info(obj, msg);
  }
}

const notifiers = new WeakMap<Logger, OnceNotifier>();

/** The notifier of a logger: "once" holds for everything logged through it, across calls. */
export function onceFor(log: Logger): OnceNotifier {
  let n = notifiers.get(log);
  if (!n) notifiers.set(log, (n = new OnceNotifier(log)));
  return n;
}

/**
 * For problems that can repeat every frame: at most one line per key per interval, carrying how many
 * were suppressed since the last one (never silent for good, unlike a "log the first 100" rule).
 */
export class Throttle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  warn(key: string, obj: object, msg: string): void {
    const now = Date.now();
    const s = this.last.get(key);
    if (s && now - s.at < this.intervalMs) {
      s.suppressed++;
      return;
    }
    const suppressed = s?.suppressed ?? 0;
    this.last.set(key, { at: now, suppressed: 0 });
    this.log.warn(
      { ...obj, suppressed },
      suppressed ? `${msg} (${suppressed} more like it since the last report)` : msg,
    );
  }
}
