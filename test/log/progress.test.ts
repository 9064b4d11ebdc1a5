import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Progress } from '../../src/log/progress.js';

/** A pino logger whose lines land in `lines`. */
function capture(): { log: pino.Logger; lines: { msg: string; done: number }[] } {
  const lines: { msg: string; done: number }[] = [];
  const log = pino({}, { write: (s: string) => lines.push(JSON.parse(s) as { msg: string; done: number }) });
  return { log, lines };
}

describe('Progress', () => {
  afterEach(() => vi.restoreAllMocks());

  it('logs the end once, also when a last tick adds nothing (no images skipped)', () => {
    const { log, lines } = capture();
    const p = new Progress('features', 10, log, { tty: false, everyMs: 1e9 });
    p.tick(4);
    p.tick(6);
    p.tick(0);
    p.tick(0);
    expect(lines.map((l) => l.done)).toEqual([4, 10]); // the first tick, then the end
  });

  it('draws one bar on a terminal, redrawn in place, ended by a single newline', () => {
    const { log, lines } = capture();
    const writes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      writes.push(String(s));
      return true;
    });
    const p = new Progress('scoring', 3, log, { tty: true });
    p.tick();
    p.tick();
    p.tick();
    p.tick(0);
    vi.restoreAllMocks();
    expect(lines).toEqual([]);
    expect(writes.filter((w) => w.startsWith('\r'))).toHaveLength(3);
    expect(writes.filter((w) => w === '\n')).toHaveLength(1);
    expect(writes.at(-2)).toMatch(/^\rscoring \[#{30}\] 3\/3/);
  });
});
