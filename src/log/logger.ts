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
