import { createHash, randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';

/**
 * The web UI's logins, as pure state with the clock passed in: sessions (a random token in a cookie), and the
 * limits on login attempts that keep a network peer from guessing passwords, tying up the event loop or
 * locking others out. Nothing here touches a socket (access.ts does).
 */

export interface Session {
  user: string;
  /** Epoch ms of the login and of the latest request with its cookie. */
  since: number;
  lastSeen: number;
}

/** A fresh session token: 32 random bytes, base64url (43 characters). */
export const newToken = (): string => randomBytes(32).toString('base64url');

/** Tokens are kept hashed: a heap dump does not hand out sessions, and lookups compare no secret. */
const keyOf = (token: string): string => createHash('sha256').update(token).digest('base64');

/**
 * Logged-in browsers, in memory (a restart logs everyone out): at most `max`, each ended after `idleMs`
 * without a request. When full, expired sessions go first, then the one idle longest.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly o: { idleMs: number; max: number; now: () => number; token?: () => string }) {}

  /** A new session for `user`; returns its token (for the cookie only: it is not kept). */
  create(user: string): string {
    const now = this.o.now();
    if (this.sessions.size >= this.o.max) this.sweep();
    // Map order is last use (touch re-inserts): the first entry is the one idle longest.
    if (this.sessions.size >= this.o.max) this.sessions.delete(this.sessions.keys().next().value!);
    const token = (this.o.token ?? newToken)();
    this.sessions.set(keyOf(token), { user, since: now, lastSeen: now });
    return token;
  }

  /** The session of `token`, its idle time restarted; undefined when unknown or idle too long (then ended). */
  touch(token: string | undefined): Session | undefined {
    if (!token) return undefined;
    const key = keyOf(token);
    const s = this.sessions.get(key);
    if (!s) return undefined;
    this.sessions.delete(key);
    const now = this.o.now();
    if (now - s.lastSeen > this.o.idleMs) return undefined;
    s.lastSeen = now;
    this.sessions.set(key, s);
    return s;
  }

  end(token: string | undefined): void {
    if (token) this.sessions.delete(keyOf(token));
  }

  /** Ends the sessions idle too long. */
  sweep(): void {
    const now = this.o.now();
    for (const [k, s] of this.sessions) if (now - s.lastSeen > this.o.idleMs) this.sessions.delete(k);
  }

  get size(): number {
    return this.sessions.size;
  }
}

/**
 * Who a login attempt is counted against: the IPv4 address, or the /64 of an IPv6 one (one host may hold a
 * whole /64, so counting single IPv6 addresses would give it endless fresh starts).
 */
export function peerKey(address: string | undefined): string {
  const a = (address ?? '?').replace(/^::ffff:(?=\d+\.)/, '');
  if (!isIPv6(a)) return a;
  const [head, tail = ''] = a.split('%')[0].split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, '').toLowerCase())
    .join(':')}::/64`;
}

export interface LimiterOptions {
  /** Failures a peer may have before it must wait (typos happen). */
  freeFailures: number;
  /** The wait after the first failure beyond those; it doubles with each further failure, up to maxDelayMs. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** A peer without a failure for this long starts afresh. */
  forgetMs: number;
  /** Peers remembered at most (memory stays bounded); beyond, the one quiet longest is forgotten. */
  maxPeers: number;
  now: () => number;
}

export const LIMITER_DEFAULTS: Omit<LimiterOptions, 'now'> = {
  freeFailures: 3,
  firstDelayMs: 1000,
  maxDelayMs: 5 * 60_000,
  forgetMs: 60 * 60_000,
  maxPeers: 10_000,
};

interface Peer {
  failures: number;
  /** Epoch ms before which the peer may not try again. */
  until: number;
  lastFailure: number;
  busy: boolean;
}

export type Admission = { ok: true } | { ok: false; busy: true } | { ok: false; busy: false; waitMs: number };

/**
 * Login attempts per peer: one at a time, and after `freeFailures` failed ones a wait that doubles with each
 * further failure (1 s, 2 s, ... 5 min), so a peer can guess a few hundred passwords a day at most. It counts
 * per peer, never for everyone: a guesser slows only itself, and a user elsewhere can still log in.
 */
export class LoginLimiter {
  private readonly peers = new Map<string, Peer>();

  constructor(private readonly o: LimiterOptions) {}

  /** Whether `peer` may try now; when it may, it is busy until `end`. */
  begin(peer: string): Admission {
    const now = this.o.now();
    let p = this.peers.get(peer);
    if (p && !p.busy && now - p.lastFailure > this.o.forgetMs) {
      this.peers.delete(peer);
      p = undefined;
    }
    if (p?.busy) return { ok: false, busy: true };
    if (p && now < p.until) return { ok: false, busy: false, waitMs: p.until - now };
    if (!p) {
      if (this.peers.size >= this.o.maxPeers) this.forgetOne(now);
      p = { failures: 0, until: 0, lastFailure: now, busy: false };
      this.peers.set(peer, p);
    }
    p.busy = true;
    return { ok: true };
  }

  /**
   * The attempt of `peer` is over: a success forgets its failures, a failure may make it wait; undefined: no
   * password was checked (the daemon was busy), which counts neither way.
   */
  end(peer: string, success: boolean | undefined): void {
    const p = this.peers.get(peer);
    if (!p) return;
    p.busy = false;
    if (success === undefined) return;
    if (success) return void this.peers.delete(peer);
    const now = this.o.now();
    p.failures++;
    p.lastFailure = now;
    const beyond = p.failures - this.o.freeFailures;
    if (beyond > 0) p.until = now + Math.min(this.o.firstDelayMs * 2 ** (beyond - 1), this.o.maxDelayMs);
  }

  /** Makes room: peers forgotten by time first, else the one whose last failure is oldest. */
  private forgetOne(now: number): void {
    let oldest: [string, Peer] | undefined;
    for (const e of this.peers) {
      if (e[1].busy) continue;
      if (now - e[1].lastFailure > this.o.forgetMs) this.peers.delete(e[0]);
      else if (!oldest || e[1].lastFailure < oldest[1].lastFailure) oldest = e;
    }
    if (this.peers.size >= this.o.maxPeers && oldest) this.peers.delete(oldest[0]);
  }

  get size(): number {
    return this.peers.size;
  }
}

/**
 * Runs one task at a time (scrypt: 16 MiB and ~50 ms each), with at most `maxWaiting` more waiting; beyond,
 * `run` answers undefined at once, so a burst is refused instead of queued without bound.
 */
export class OneAtATime {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(private readonly maxWaiting: number) {}

  run<T>(task: () => Promise<T>): Promise<T> | undefined {
    if (this.waiting > this.maxWaiting) return undefined;
    this.waiting++;
    const result = this.tail.then(task).finally(() => this.waiting--);
    this.tail = result.catch(() => {});
    return result;
  }
}
