import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../src/core/boundedQueue.js';

describe('bounded queue', () => {
  it('drop-oldest keeps the newest items and counts what it evicts', async () => {
    const dropped: [number, string][] = [];
    const q = new BoundedQueue<number>(2, 'drop-oldest', (x, why) => dropped.push([x, why]));
    for (const i of [1, 2, 3, 4]) await q.push(i);
    expect(q.dropped).toBe(2);
    expect(dropped).toEqual([
      [1, 'oldest'],
      [2, 'oldest'],
    ]);
    expect([await q.take(), await q.take()]).toEqual([3, 4]);
  });

  it('drop-newest refuses new items when full', async () => {
    const q = new BoundedQueue<number>(2, 'drop-newest');
    for (const i of [1, 2, 3]) await q.push(i);
    expect(q.dropped).toBe(1);
    expect([await q.take(), await q.take()]).toEqual([1, 2]);
  });

  it('wait holds the producer until there is room; nothing is lost', async () => {
    const q = new BoundedQueue<number>(1, 'wait');
    await q.push(1);
    let second = false;
    const p = q.push(2).then(() => (second = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBe(false);
    expect(await q.take()).toBe(1);
    await p;
    expect(second).toBe(true);
    expect(await q.take()).toBe(2);
    expect(q.dropped).toBe(0);
  });

  it('a taker waiting on an empty queue gets the next push; close releases takers with undefined', async () => {
    const q = new BoundedQueue<string>(3, 'drop-oldest');
    const waiting = q.take();
    await q.push('a');
    expect(await waiting).toBe('a');
    const pending = q.take();
    q.close();
    expect(await pending).toBeUndefined();
  });

  it('after close, takers drain what is left, then get undefined', async () => {
    const q = new BoundedQueue<number>(3, 'wait');
    await q.push(1);
    await q.push(2);
    q.close();
    await q.push(3); // ignored
    expect([await q.take(), await q.take(), await q.take()]).toEqual([1, 2, undefined]);
  });
});
