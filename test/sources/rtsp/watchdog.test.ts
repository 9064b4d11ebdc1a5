import { describe, expect, it } from 'vitest';
import { EventWindow } from '../../../src/core/eventWindow.js';
import { RateGate, RateMeter, stallReason } from '../../../src/sources/rtsp/watchdog.js';

describe('supervision arithmetic', () => {
  it('gives a new run the connect time, a streaming run the stall time', () => {
    const run = { startedAt: 0, lastFrameAt: undefined as number | undefined };
    expect(stallReason(19_999, run, 20_000, 5000)).toBeUndefined();
    expect(stallReason(20_000, run, 20_000, 5000)).toBe('no frame within 20 s of starting ffmpeg');
    run.lastFrameAt = 18_000;
    expect(stallReason(22_999, run, 20_000, 5000)).toBeUndefined();
    expect(stallReason(23_000, run, 20_000, 5000)).toBe('no frame for 5 s');
  });

  it('counts events of the last hour only', () => {
    const w = new EventWindow(3_600_000);
    w.add(0);
    w.add(1_000_000);
    w.add(3_000_000);
    expect(w.count(3_000_000)).toBe(3);
    expect(w.count(3_600_000)).toBe(2);
    expect(w.count(7_000_000)).toBe(0);
  });

  it('measures rates over the last complete seconds, and forgets a gap', () => {
    const m = new RateMeter(10);
    for (let t = 0; t < 5000; t += 40) m.add(t); // 25/s for 5 s
    expect(m.rate(5000)).toBe(25);
    expect(m.rate(10_000)).toBe(12.5); // 5 busy seconds of the last 10
    expect(m.rate(60_000)).toBe(0);
    m.add(60_100);
    m.add(60_200);
    expect(m.rate(61_000)).toBe(0.2);
  });
});

describe('skipping to an inspection rate', () => {
  it('passes the first frame at or after each due time, at the exact average rate', () => {
    const g = new RateGate(10);
    const passed = [];
    for (let t = 0; t < 10_000; t += 40) if (g.accept(t)) passed.push(t); // 25/s camera
    expect(passed.slice(0, 4)).toEqual([0, 120, 200, 320]);
    expect(passed.length).toBeGreaterThanOrEqual(99);
    expect(passed.length).toBeLessThanOrEqual(101);
  });

  it('starts a fresh schedule after a gap instead of bursting to catch up', () => {
    const g = new RateGate(10);
    expect(g.accept(0)).toBe(true);
    expect(g.accept(5000)).toBe(true);
    expect(g.accept(5040)).toBe(false);
    expect(g.accept(5080)).toBe(false);
    expect(g.accept(5100)).toBe(true);
  });

  it('passes everything at fps 0', () => {
    const g = new RateGate(0);
    expect([0, 0, 1, 1].every((t) => g.accept(t))).toBe(true);
  });
});
