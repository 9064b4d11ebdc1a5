import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/sources/backoff.js';

describe('reconnect delays', () => {
  it('doubles the delay per failure up to the maximum, and starts over after a reset', () => {
    const b = new Backoff(1000, 30_000, 0);
    expect([1, 2, 3, 4, 5, 6, 7].map(() => b.next())).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(b.failuresInARow).toBe(7);
    b.reset();
    expect(b.next()).toBe(1000);
    // A maximum below the minimum is the minimum.
    expect(new Backoff(5000, 1000, 0).next()).toBe(5000);
  });

  it('spreads delays by the jitter, never beyond it', () => {
    expect(new Backoff(1000, 1000, 0.1, () => 0).next()).toBe(900);
    expect(new Backoff(1000, 1000, 0.1, () => 0.999999).next()).toBe(1100);
  });
});
