import { describe, expect, it } from 'vitest';
import {
  LIMITER_DEFAULTS,
  LoginLimiter,
  OneAtATime,
  peerKey,
  SessionStore,
} from '../../../src/sinks/http/sessions.js';

/** A clock the test moves by hand: no waiting on the wall clock. */
const fakeClock = (t = 1_000_000) => ({ now: () => t, advance: (ms: number) => (t += ms) });
const HOUR = 3_600_000;

describe('web UI sessions (fake clock)', () => {
  it('a token finds its user until it is idle longer than idleMs; each request restarts the idle time', () => {
    const clock = fakeClock();
    const s = new SessionStore({ idleMs: 8 * HOUR, max: 10, now: clock.now });
    const token = s.create('anna');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes
    expect(s.create('anna')).not.toBe(token);
    clock.advance(7 * HOUR);
    expect(s.touch(token)?.user).toBe('anna');
    clock.advance(7 * HOUR); // 14 h after login, 7 h after the last request
    expect(s.touch(token)?.user).toBe('anna');
    clock.advance(8 * HOUR + 1);
    expect(s.touch(token)).toBeUndefined();
    expect(s.touch(token)).toBeUndefined(); // ended, not just refused once
    expect(s.touch(undefined)).toBeUndefined();
    expect(s.touch('forged')).toBeUndefined();
  });

  it('logout ends a session; a full store ends expired sessions first, then the one idle longest', () => {
    const clock = fakeClock();
    const s = new SessionStore({ idleMs: HOUR, max: 3, now: clock.now });
    const a = s.create('a');
    clock.advance(10);
    const b = s.create('b');
    clock.advance(10);
    const c = s.create('c');
    clock.advance(10);
    s.touch(a); // now b is idle longest
    const d = s.create('d');
    expect(s.size).toBe(3);
    expect([a, b, c, d].map((t) => s.touch(t)?.user)).toEqual(['a', undefined, 'c', 'd']);
    s.end(c);
    expect(s.touch(c)).toBeUndefined();
    clock.advance(HOUR + 1);
    s.sweep();
    expect(s.size).toBe(0);
  });
});

describe('login attempts per peer (fake clock)', () => {
  const limiter = (o: Partial<typeof LIMITER_DEFAULTS> = {}) => {
    const clock = fakeClock();
    return { clock, l: new LoginLimiter({ ...LIMITER_DEFAULTS, ...o, now: clock.now }) };
  };
  const fail = (l: LoginLimiter, peer: string) => {
    expect(l.begin(peer)).toEqual({ ok: true });
    l.end(peer, false);
  };

  it('three failures are free, then the wait doubles from 1 s to at most 5 min', () => {
    const { clock, l } = limiter();
    for (let i = 0; i < 3; i++) fail(l, 'p');
    fail(l, 'p'); // the 4th: 1 s
    expect(l.begin('p')).toEqual({ ok: false, busy: false, waitMs: 1000 });
    clock.advance(1000);
    fail(l, 'p'); // the 5th: 2 s
    clock.advance(1999);
    expect(l.begin('p')).toEqual({ ok: false, busy: false, waitMs: 1 });
    clock.advance(1);
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      fail(l, 'p');
      const a = l.begin('p');
      waits.push(a.ok || a.busy ? 0 : a.waitMs);
      clock.advance(waits.at(-1)!);
    }
    expect(waits.slice(0, 8)).toEqual([4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000]);
    expect(waits.slice(8)).toEqual([300000, 300000, 300000, 300000]);
  });

  it('one attempt at a time per peer; a success forgets the failures; not checking counts neither way', () => {
    const { l } = limiter();
    expect(l.begin('p')).toEqual({ ok: true });
    expect(l.begin('p')).toEqual({ ok: false, busy: true });
    l.end('p', undefined); // the daemon was too busy to check: no failure
    for (let i = 0; i < 3; i++) fail(l, 'p');
    expect(l.begin('p')).toEqual({ ok: true });
    l.end('p', true);
    for (let i = 0; i < 3; i++) fail(l, 'p'); // three free failures again
    expect(l.begin('p')).toEqual({ ok: true });
  });

  it('a guesser slows only itself: another peer logs in at once', () => {
    const { l } = limiter();
    for (let i = 0; i < 10; i++) {
      if (!l.begin('attacker').ok) break;
      l.end('attacker', false);
    }
    expect(l.begin('attacker').ok).toBe(false);
    expect(l.begin('operator')).toEqual({ ok: true });
  });

  it('a peer quiet for forgetMs starts afresh; memory is bounded by maxPeers', () => {
    const { clock, l } = limiter({ maxPeers: 3 });
    for (let i = 0; i < 5; i++) {
      fail(l, 'p');
      clock.advance(60_000);
    }
    expect(l.begin('p').ok).toBe(true);
    l.end('p', false);
    clock.advance(HOUR + 1);
    expect(l.begin('p').ok).toBe(true);
    l.end('p', false);
    for (const peer of ['a', 'b', 'c', 'd']) {
      clock.advance(1);
      fail(l, peer);
    }
    expect(l.size).toBe(3);
  });

  it('counts IPv4 per address and IPv6 per /64 (one host may hold all of a /64)', () => {
    expect(peerKey('192.0.2.7')).toBe('192.0.2.7');
    expect(peerKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(peerKey('fd00:1:2:3:aaaa::1')).toBe('fd00:1:2:3::/64');
    expect(peerKey('fd00:1:2:3:bbbb:cccc:dddd:eeee')).toBe('fd00:1:2:3::/64');
    expect(peerKey('fd00::2')).toBe('fd00:0:0:0::/64');
    expect(peerKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(peerKey(undefined)).toBe('?');
  });
});

describe('one scrypt at a time', () => {
  it('runs tasks in turn, with at most maxWaiting waiting; beyond, refuses at once', async () => {
    const gate = new OneAtATime(2);
    const order: string[] = [];
    const release: (() => void)[] = [];
    const task = (name: string) => () =>
      new Promise<string>((resolve) => {
        order.push(`start ${name}`);
        release.push(() => resolve(name));
      });
    const a = gate.run(task('a'));
    const b = gate.run(task('b'));
    const c = gate.run(task('c'));
    expect(gate.run(task('d'))).toBeUndefined(); // a runs, b and c wait: full
    await Promise.resolve();
    expect(order).toEqual(['start a']);
    release.shift()!();
    expect(await a).toBe('a');
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['start a', 'start b']);
    release.shift()!();
    await b;
    const e = gate.run(() => Promise.reject(new Error('boom')));
    await new Promise((r) => setImmediate(r));
    release.shift()!();
    expect(await c).toBe('c');
    await expect(e).rejects.toThrow('boom');
    // A failed task does not stop the ones after it.
    expect(await gate.run(() => Promise.resolve('f'))).toBe('f');
  });
});
