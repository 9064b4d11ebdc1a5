import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  cookieToken,
  localness,
  mayAct,
  sessionCookie,
  type Caller,
} from '../../../src/sinks/http/access.js';
import { refuseAction } from '../../../src/sinks/http/actions.js';

/** A fake request (no socket): its headers. */
const request = (headers: Record<string, string>) => ({ headers }) as unknown as http.IncomingMessage;
const ok = { 'content-type': 'application/json', 'x-inspectd-action': '1' };
const NAMES = ['localhost', 'linepc'];
const error = (a: unknown) => (a as { body: { error: string } }).body.error;

describe('what counts as this box (pure)', () => {
  it('a loopback peer that names this box or an IP address', () => {
    for (const from of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])
      for (const host of ['127.0.0.1:8080', 'localhost:8080', 'LinePC', '[::1]:8080', '192.0.2.2'])
        expect(localness(from, { host }, NAMES)).toEqual({ local: true });
  });

  it('not another host, nor a request through a proxy, nor one naming a host of elsewhere (DNS rebinding)', () => {
    expect(localness('192.0.2.9', { host: 'localhost' }, NAMES)).toEqual({ local: false });
    expect(localness('::ffff:192.168.1.9', { host: 'localhost' }, NAMES).local).toBe(false);
    expect(localness('127.0.0.1', { host: 'localhost', 'x-forwarded-for': '10.1.1.1' }, NAMES)).toEqual({
      local: false,
      notLocal: 'it came through a proxy (Forwarded or X-Forwarded-For header)',
    });
    expect(localness('127.0.0.1', { host: 'localhost', forwarded: 'for=10.1.1.1' }, NAMES).local).toBe(false);
    expect(localness('127.0.0.1', { host: 'attacker.example:8080' }, NAMES)).toEqual({
      local: false,
      notLocal: 'it addressed the host as "attacker.example", not as localhost or an IP address',
    });
    expect(localness('127.0.0.1', {}, NAMES).local).toBe(false);
  });
});

describe('who may take an operator action (pure)', () => {
  const caller = (c: Partial<Caller>): Caller => ({ from: '192.0.2.9', local: false, ...c });
  const open = { logins: true, localActionsWithoutLogin: true };

  it('a logged-in user anywhere, named in the audit origin; this box without a login', () => {
    expect(mayAct(caller({ user: 'anna' }), open)).toEqual({
      origin: 'web UI, anna@192.0.2.9',
      from: '192.0.2.9',
      user: 'anna',
    });
    expect(mayAct(caller({ from: '127.0.0.1', local: true }), open)).toEqual({
      origin: 'web UI, 127.0.0.1',
      from: '127.0.0.1',
    });
    expect(mayAct(caller({ from: '127.0.0.1', local: true, user: 'ben' }), open)).toMatchObject({
      origin: 'web UI, ben@127.0.0.1',
    });
  });

  it('another host without a login: 401 "log in first", or 403 naming http.usersFile when logins are off', () => {
    const needLogin = mayAct(caller({}), open);
    expect([(needLogin as { status: number }).status, error(needLogin)]).toEqual([
      401,
      'log in first: operator actions from other hosts (this request came from 192.0.2.9) need a login',
    ]);
    const off = mayAct(caller({}), { logins: false, localActionsWithoutLogin: true });
    expect((off as { status: number }).status).toBe(403);
    expect(error(off)).toMatch(/logins are off: set http\.usersFile .*docs\/web-ui\.md.*MQTT or OPC UA/);
    const proxied = mayAct(caller({ from: '127.0.0.1', notLocal: 'it came through a proxy' }), open);
    expect(error(proxied)).toContain('this request came from 127.0.0.1, and it came through a proxy');
  });

  it('with localActionsWithoutLogin false, this box needs a login too', () => {
    const strict = { logins: true, localActionsWithoutLogin: false };
    const r = mayAct(caller({ from: '127.0.0.1', local: true }), strict);
    expect(error(r)).toBe(
      'log in first: operator actions from this box too (http.localActionsWithoutLogin is false) need a login',
    );
    expect(mayAct(caller({ from: '127.0.0.1', local: true, user: 'anna' }), strict)).toMatchObject({
      user: 'anna',
    });
  });
});

describe('the request every action must be (fake requests)', () => {
  it('with the action header (what a page of another site cannot send), in JSON', () => {
    expect(refuseAction(request(ok))).toBeUndefined();
    expect(refuseAction(request({ 'content-type': 'application/json' }))?.status).toBe(403);
    expect(refuseAction(request({ 'x-inspectd-action': '1', 'content-type': 'text/plain' }))?.status).toBe(
      415,
    );
  });

  it('the session cookie: HttpOnly, SameSite=Strict, whole site; read back among other cookies', () => {
    expect(sessionCookie('t0k')).toBe('inspectd_session=t0k; HttpOnly; SameSite=Strict; Path=/');
    expect(cookieToken('a=1; inspectd_session=t0k; b=2')).toBe('t0k');
    expect(cookieToken('inspectd_session=')).toBeUndefined();
    expect(cookieToken(undefined)).toBeUndefined();
  });
});
