import type http from 'node:http';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { verifyUser } from '../../core/users.js';
import { actionBody, fail, refuseAction, type ActionAnswer } from './actions.js';
import { LIMITER_DEFAULTS, LoginLimiter, OneAtATime, peerKey, SessionStore } from './sessions.js';

/**
 * Who may take operator actions in the web UI. Reading is open to all. Acting: from this box (the line PC)
 * without a login unless http.localActionsWithoutLogin is off; from anywhere with a login (http.usersFile).
 * Every action also needs the x-inspectd-action header (actions.ts), which a page of another site cannot send.
 */

export const COOKIE = 'inspectd_session';
/** Sessions at once, at most (a few per operator station; the oldest idle one goes when full). */
const MAX_SESSIONS = 200;
/** Logins waiting for their scrypt at most, besides the one running; more are refused with 503 at once. */
const MAX_LOGINS_WAITING = 8;
/** Longest user name and password looked at: a longer one cannot match, and scrypt is not fed megabytes. */
const MAX_FIELD = 256;

/** Loopback only: 127.0.0.0/8, ::1, and IPv4 on an IPv6 socket. */
export const isLoopback = (a = ''): boolean => /^(127\.|::1$|::ffff:127\.)/.test(a);

/** Where a request came from, and whether it counts as this box. */
export interface Caller {
  /** The peer address of the connection. */
  from: string;
  local: boolean;
  /** Why a loopback peer does not count as this box. */
  notLocal?: string;
  /** The logged-in user, when the request carries a live session. */
  user?: string;
}

/**
 * Whether a request came from this box: a loopback peer that did not come through a proxy and named this box
 * as the host. A proxy on the box makes every peer look local; a web page elsewhere can make a browser on the
 * line PC send requests to 127.0.0.1 under its own name (DNS rebinding): neither counts as local.
 */
export function localness(
  from: string,
  headers: http.IncomingHttpHeaders,
  names: readonly string[],
): Pick<Caller, 'local' | 'notLocal'> {
  if (!isLoopback(from)) return { local: false };
  if (headers.forwarded !== undefined || headers['x-forwarded-for'] !== undefined)
    return { local: false, notLocal: 'it came through a proxy (Forwarded or X-Forwarded-For header)' };
  const host = (headers.host ?? '')
    .replace(/:\d+$/, '')
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  if (isIP(host) === 0 && !names.includes(host))
    return {
      local: false,
      notLocal: `it addressed the host as "${host}", not as localhost or an IP address`,
    };
  return { local: true };
}

export interface Policy {
  /** Logins are on: http.usersFile names users. */
  logins: boolean;
  localActionsWithoutLogin: boolean;
}

/** Who took an action: the audit trail's `origin`, and the user for the log. */
export interface Actor {
  origin: string;
  from: string;
  user?: string;
}

/** Whether `c` may take an operator action, as whom; or the answer saying why not and what to do. */
export function mayAct(c: Caller, p: Policy): Actor | ActionAnswer {
  if (c.user) return { origin: `web UI, ${c.user}@${c.from}`, from: c.from, user: c.user };
  if (c.local && p.localActionsWithoutLogin) return { origin: `web UI, ${c.from}`, from: c.from };
  const where = c.local
    ? 'this box too (http.localActionsWithoutLogin is false)'
    : `other hosts (this request came from ${c.from}${c.notLocal ? `, and ${c.notLocal}` : ''})`;
  if (p.logins) return fail(401, `log in first: operator actions from ${where} need a login`);
  return fail(
    403,
    `operator actions from ${where} need a login, and logins are off: set http.usersFile to a users file (docs/web-ui.md, "Access"), or use the web UI on the line PC, or MQTT or OPC UA`,
  );
}

/** The session token of a Cookie header, if any. */
export function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === COOKIE && v) return v;
  }
  return undefined;
}

/**
 * The session cookie: not readable by scripts (HttpOnly), never sent with a request another site starts
 * (SameSite=Strict), gone when the browser closes. Not `Secure`: the daemon speaks plain HTTP (a TLS proxy in
 * front can add it; docs/web-ui.md).
 */
export const sessionCookie = (token: string): string =>
  `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
const clearCookie = `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;

export interface AccessOptions extends Policy {
  users: Map<string, string>;
  idleMs: number;
  now?: () => number;
}

/** The sink's logins and the check before each action. */
export class Access {
  private readonly sessions: SessionStore;
  private readonly limiter: LoginLimiter;
  private readonly gate = new OneAtATime(MAX_LOGINS_WAITING);
  private readonly names = ['localhost', hostname().toLowerCase()];
  private counts = { logins: 0, loginsFailed: 0, loginsRefused: 0 };

  constructor(
    private readonly o: AccessOptions,
    private readonly log: Logger,
  ) {
    const now = o.now ?? Date.now;
    this.sessions = new SessionStore({ idleMs: o.idleMs, max: MAX_SESSIONS, now });
    this.limiter = new LoginLimiter({ ...LIMITER_DEFAULTS, now });
  }

  caller(req: http.IncomingMessage): Caller {
    const from = req.socket.remoteAddress ?? '?';
    const user = this.sessions.touch(cookieToken(req.headers.cookie))?.user;
    return { from, ...localness(from, req.headers, this.names), ...(user !== undefined && { user }) };
  }

  /** Who takes the action `req` asks for, or the refusal. */
  permit(req: http.IncomingMessage): Actor | ActionAnswer {
    return mayAct(this.caller(req), this.o);
  }

  /** GET /api/session: who the browser is logged in as, whether it may act, and if not, why. */
  session(req: http.IncomingMessage): ActionAnswer {
    const c = this.caller(req);
    const may = mayAct(c, this.o);
    return {
      status: 200,
      body: {
        user: c.user ?? null,
        from: c.from,
        local: c.local,
        logins: this.o.logins,
        canAct: !('status' in may),
        ...('status' in may && { why: (may.body as { error: string }).error }),
      },
    };
  }

  /**
   * POST /api/login {"user", "password"}: a session cookie for a user of http.usersFile. The same answer for an
   * unknown user and a wrong password; one attempt at a time per peer, waits after repeated failures, and one
   * scrypt at a time for all (a few waiting), so no peer can tie up the daemon.
   */
  async login(req: http.IncomingMessage): Promise<ActionAnswer> {
    if (!this.o.logins)
      return fail(403, 'logins are off: set http.usersFile to a users file (docs/web-ui.md, "Access")');
    const body = await actionBody(req);
    if ('answer' in body) return body.answer;
    const { user, password } = (body.json ?? {}) as { user?: unknown; password?: unknown };
    if (typeof user !== 'string' || typeof password !== 'string' || !user || !password)
      return fail(400, 'send {"user": "<name>", "password": "<password>"}');
    const from = req.socket.remoteAddress ?? '?';
    const peer = peerKey(from);
    const admitted = this.limiter.begin(peer);
    if (!admitted.ok) {
      this.counts.loginsRefused++;
      if (admitted.busy) return fail(429, `a login from ${from} is being checked: wait for its answer`);
      const s = Math.ceil(admitted.waitMs / 1000);
      return {
        ...fail(429, `too many failed logins from ${from}: try again in ${s} s`),
        headers: { 'retry-after': String(s) },
      };
    }
    let ok: boolean | undefined;
    try {
      const check =
        user.length <= MAX_FIELD && password.length <= MAX_FIELD
          ? this.gate.run(() => verifyUser(this.o.users, user, password))
          : Promise.resolve(false);
      if (!check) {
        this.counts.loginsRefused++;
        return {
          ...fail(503, 'too many logins at once: try again in a few seconds'),
          headers: { 'retry-after': '2' },
        };
      }
      ok = await check;
    } finally {
      this.limiter.end(peer, ok);
    }
    if (!ok) {
      this.counts.loginsFailed++;
      this.log.warn({ user, from }, `web UI: login refused for user "${user}" from ${from}`);
      return fail(401, 'wrong user name or password');
    }
    this.counts.logins++;
    this.log.info({ user, from }, `web UI: ${user} logged in from ${from}`);
    const token = this.sessions.create(user);
    return { status: 200, body: { user }, headers: { 'set-cookie': sessionCookie(token) } };
  }

  /** POST /api/logout: ends the browser's session (with the action header, so no other site can). */
  logout(req: http.IncomingMessage): ActionAnswer {
    const refused = refuseAction(req);
    if (refused) return refused;
    const token = cookieToken(req.headers.cookie);
    const user = this.sessions.touch(token)?.user;
    this.sessions.end(token);
    if (user) this.log.info({ user, from: req.socket.remoteAddress }, `web UI: ${user} logged out`);
    return { status: 200, body: { user: null }, headers: { 'set-cookie': clearCookie } };
  }

  stats(): Record<string, number> {
    this.sessions.sweep();
    return { ...this.counts, sessions: this.sessions.size };
  }
}
