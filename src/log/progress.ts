import type { Logger } from 'pino';

/**
 * Progress of a long CLI step: a redrawn bar on a terminal, otherwise a log line every `everyMs`
 * (CI logs and journald must not fill with carriage returns).
 */
export class Progress {
  private done = 0;
  private finished = false;
  private lastLog = 0;
  private readonly started = Date.now();
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly log: Logger,
    opts: { tty?: boolean; everyMs?: number } = {},
  ) {
    this.tty = opts.tty ?? Boolean(process.stderr.isTTY);
    this.everyMs = opts.everyMs ?? 5000;
  }

  private readonly everyMs: number;

  tick(n = 1): void {
    // Nothing new (e.g. "0 skipped" after the last batch): the last line already said it.
    if (n <= 0 || this.finished) return;
    this.done += n;
    this.finished = this.done >= this.total;
    const now = Date.now();
    if (this.tty) {
      const width = 30;
      const filled = Math.round((width * this.done) / Math.max(1, this.total));
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
      process.stderr.write(`\r${this.label} [${bar}] ${this.done}/${this.total} ${this.rate(now)}`);
      if (this.done >= this.total) process.stderr.write('\n');
    } else if (now - this.lastLog >= this.everyMs || this.done >= this.total) {
      this.lastLog = now;
      this.log.info(
        { step: this.label, done: this.done, total: this.total },
        `${this.label}: ${this.done}/${this.total} ${this.rate(now)}`,
      );
    }
  }

  private rate(now: number): string {
    const s = (now - this.started) / 1000;
    return s > 0 ? `${(this.done / s).toFixed(1)}/s` : '';
  }
}
