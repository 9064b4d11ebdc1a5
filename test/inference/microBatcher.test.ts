import { describe, expect, it } from 'vitest';
import { MicroBatcher } from '../../src/inference/microBatcher.js';

interface Item {
  key: string;
  v: number;
}

/** A model stand-in that records its batches and finishes a run only when the test says so. */
function recorder() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  let failNext = false;
  const run = async (items: Item[]) => {
    batches.push(items.map((i) => i.v));
    await new Promise<void>((r) => gates.push(r));
    if (failNext) {
      failNext = false;
      throw new Error('device lost');
    }
    return items.map((i) => i.v * 10);
  };
  return {
    batches,
    run,
    /** Lets the oldest waiting run finish. */
    release: () => gates.shift()?.(),
    failNextRun: () => (failNext = true),
    waiting: () => gates.length,
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('micro-batcher (scheduling only: the model is a recorder the test steps)', () => {
  it('a run starts at once when every caller has a request queued, without waiting for the timer', async () => {
    const m = recorder();
    const b = new MicroBatcher<Item, number>({ maxBatch: 8, maxWaitMs: 3_600_000 }, m.run);
    b.callers = 3;
    const all = [1, 2, 3].map((v) => b.submit({ key: 'a', v }));
    await tick();
    expect(m.batches).toEqual([[1, 2, 3]]);
    m.release();
    expect(await Promise.all(all)).toEqual([10, 20, 30]);
    expect(b.runs).toBe(1);
  });

  it('requests that arrive during a run go together in the next one, up to the batch size', async () => {
    const m = recorder();
    const b = new MicroBatcher<Item, number>({ maxBatch: 2, maxWaitMs: 0 }, m.run);
    b.callers = 4;
    const first = b.submit({ key: 'a', v: 1 });
    await tick();
    const rest = [2, 3, 4].map((v) => b.submit({ key: 'a', v }));
    await tick();
    expect(m.batches).toEqual([[1]]);
    m.release();
    await first;
    await tick();
    expect(m.batches).toEqual([[1], [2, 3]]);
    m.release();
    await tick();
    m.release();
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
    expect(m.batches).toEqual([[1], [2, 3], [4]]);
  });

  it('never mixes frames of different sizes in one run', async () => {
    const m = recorder();
    const b = new MicroBatcher<Item, number>({ maxBatch: 8, maxWaitMs: 0 }, m.run);
    b.callers = 4;
    const first = b.submit({ key: 'a', v: 0 });
    await tick();
    const more = [b.submit({ key: 'b', v: 1 }), b.submit({ key: 'a', v: 2 }), b.submit({ key: 'b', v: 3 })];
    m.release();
    await first;
    while (m.waiting() || m.batches.length < 3) {
      m.release();
      await tick();
    }
    await Promise.all(more);
    expect(m.batches).toEqual([[0], [1, 3], [2]]);
  });

  it('a failed run rejects its own requests only; the next run goes on', async () => {
    const m = recorder();
    const b = new MicroBatcher<Item, number>({ maxBatch: 4, maxWaitMs: 3_600_000 }, m.run);
    b.callers = 2;
    m.failNextRun();
    const failed = [b.submit({ key: 'a', v: 1 }), b.submit({ key: 'a', v: 2 })];
    await tick();
    const later = b.submit({ key: 'a', v: 3 });
    m.release();
    for (const f of failed) await expect(f).rejects.toThrow('device lost');
    await tick();
    m.release();
    expect(await later).toBe(30);
  });

  it('with a batch size of 1 every request runs alone, in order', async () => {
    const m = recorder();
    const b = new MicroBatcher<Item, number>({ maxBatch: 1, maxWaitMs: 50 }, m.run);
    b.callers = 3;
    const all = [1, 2, 3].map((v) => b.submit({ key: 'a', v }));
    for (let i = 0; i < 3; i++) {
      await tick();
      m.release();
    }
    expect(await Promise.all(all)).toEqual([10, 20, 30]);
    expect(m.batches).toEqual([[1], [2], [3]]);
  });
});
