import { cpSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../src/core/users.js';
import { HttpSink, type HttpSettings } from '../../../src/sinks/http/httpSink.js';
import { LAN_ADDRESS as LAN } from '../../helpers/browser.js';
import { tempDir } from '../../helpers/fixtures.js';
import { testLine } from '../../helpers/line.js';
import { ROOT } from '../../helpers/paths.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: { error?: string; [k: string]: unknown };
}

/** One HTTP request to the sink from `from` (a local address of this box), with a JSON body when given. */
function call(
  port: number,
  from: string,
  method: string,
  urlPath: string,
  o: { json?: unknown; cookie?: string; header?: boolean; type?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (o.json !== undefined) headers['content-type'] = o.type ?? 'application/json';
  if (o.header ?? o.json !== undefined) headers['x-inspectd-action'] = '1';
  if (o.cookie) headers.cookie = o.cookie;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: LAN, port, method, path: urlPath, localAddress: from, headers },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: /json/.test(res.headers['content-type'] ?? '') ? JSON.parse(text) : { text },
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(o.json === undefined ? undefined : JSON.stringify(o.json));
  });
}

/** The cookie a login answer sets, as a browser would send it back. */
const cookieOf = (r: Reply): string => (r.headers['set-cookie']?.[0] ?? '').split(';')[0];

describe.skipIf(!LAN)(
  `web UI logins over HTTP, the sink bound on this box's non-loopback address ${LAN ?? '(none here: skipped, no non-loopback IPv4 interface to make a remote peer with)'}`,
  () => {
    let t: Awaited<ReturnType<typeof testLine>>;
    const logs: { msg: string; user?: string; from?: string }[] = [];
    const sinks: HttpSink[] = [];
    let remote: string;

    /** An HTTP sink on LAN with these settings; answers its port. */
    async function sink(s: Partial<HttpSettings>): Promise<number> {
      const log = pino({}, { write: (l: string) => logs.push(JSON.parse(l) as { msg: string }) });
      const settings = {
        host: LAN!,
        port: 0,
        maxLiveViews: 4,
        usersFile: '',
        localActionsWithoutLogin: true,
        sessionIdleSec: 3600,
        ...s,
      };
      const k = new HttpSink({ ...t.context(settings), log });
      await k.start();
      sinks.push(k);
      return Number(new URL(k.url).port);
    }

    beforeAll(async () => {
      remote = LAN!;
      const recipes = tempDir('login-recipes');
      for (const name of ['demo', 'demo-b'])
        cpSync(path.join(ROOT, 'models', 'demo'), path.join(recipes, name), { recursive: true });
      t = await testLine({ recipesDir: recipes });
    }, 60_000);

    afterAll(async () => {
      for (const k of sinks) await k.stop();
      await t?.close();
    });

    it('without http.usersFile: other hosts read, their actions are refused naming the setting; this box acts', async () => {
      const port = await sink({});
      expect((await call(port, remote, 'GET', '/api/status')).status).toBe(200);
      expect((await call(port, remote, 'GET', '/')).status).toBe(200);
      const refused = await call(port, remote, 'POST', '/api/cameras/cam1/threshold', {
        json: { threshold: 9 },
      });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatch(
        new RegExp(`this request came from ${remote}.*logins are off: set http\\.usersFile`),
      );
      // Marking a verdict is an operator action too: the same rule, before the verdict is even looked up.
      const mark = await call(port, remote, 'POST', '/api/results/r1/mark', { json: { mark: null } });
      expect([mark.status, mark.body.error]).toEqual([403, refused.body.error]);
      const login = await call(port, remote, 'POST', '/api/login', { json: { user: 'a', password: 'b' } });
      expect([login.status, login.body.error]).toEqual([403, expect.stringContaining('set http.usersFile')]);
      expect((await call(port, remote, 'GET', '/api/session')).body).toEqual({
        user: null,
        from: remote,
        local: false,
        logins: false,
        canAct: false,
        why: refused.body.error,
      });
      const local = await call(port, '127.0.0.1', 'POST', '/api/cameras/cam1/threshold', {
        json: { threshold: 9 },
      });
      expect([local.status, local.body.origin]).toEqual([200, 'web UI, 127.0.0.1']);
      expect((await call(port, '127.0.0.1', 'GET', '/api/session')).body).toMatchObject({
        local: true,
        canAct: true,
      });
    });

    it('with users: a remote login gets an HttpOnly SameSite=Strict cookie; its actions carry the user into the audit trail and the log', async () => {
      const users = path.join(tempDir('users'), 'users');
      writeFileSync(users, `# web UI\nanna:${hashPassword('anna-pass-1')}\n`);
      const port = await sink({ usersFile: users });
      const threshold = (o: { cookie?: string; header?: boolean } = {}) =>
        call(port, remote, 'POST', '/api/cameras/cam1/threshold', { json: { threshold: 11 }, ...o });

      expect((await call(port, remote, 'GET', '/api/session')).body).toMatchObject({
        user: null,
        logins: true,
        canAct: false,
        why: `log in first: operator actions from other hosts (this request came from ${remote}) need a login`,
      });
      expect((await threshold()).status).toBe(401);

      const wrong = await call(port, remote, 'POST', '/api/login', {
        json: { user: 'anna', password: 'nope' },
      });
      const unknown = await call(port, remote, 'POST', '/api/login', {
        json: { user: 'zoe', password: 'anna-pass-1' },
      });
      // The same answer either way: it does not tell which user names exist.
      expect([wrong.status, wrong.body]).toEqual([401, { error: 'wrong user name or password' }]);
      expect([unknown.status, unknown.body]).toEqual([401, { error: 'wrong user name or password' }]);
      expect(wrong.headers['set-cookie']).toBeUndefined();
      const noHeader = await call(port, remote, 'POST', '/api/login', {
        json: { user: 'anna', password: 'anna-pass-1' },
        header: false,
      });
      expect([noHeader.status, noHeader.body.error]).toEqual([
        403,
        expect.stringContaining('x-inspectd-action'),
      ]);
      const form = await call(port, remote, 'POST', '/api/login', {
        json: { user: 'anna', password: 'anna-pass-1' },
        type: 'application/x-www-form-urlencoded',
      });
      expect(form.status).toBe(415);
      expect((await call(port, remote, 'POST', '/api/login', { json: { user: 'anna' } })).status).toBe(400);

      const ok = await call(port, remote, 'POST', '/api/login', {
        json: { user: 'anna', password: 'anna-pass-1' },
      });
      expect([ok.status, ok.body]).toEqual([200, { user: 'anna' }]);
      expect(ok.headers['set-cookie']).toEqual([
        expect.stringMatching(/^inspectd_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/$/),
      ]);
      const cookie = cookieOf(ok);
      expect((await call(port, remote, 'GET', '/api/session', { cookie })).body).toEqual({
        user: 'anna',
        from: remote,
        local: false,
        logins: true,
        canAct: true,
      });
      // Logged in, the action header is still needed: the cookie alone is what another site could ride on.
      expect((await threshold({ cookie, header: false })).status).toBe(403);
      const done = await threshold({ cookie });
      expect([done.status, done.body.origin]).toEqual([200, `web UI, anna@${remote}`]);
      expect(t.line.auditTrail(1)[0]).toMatchObject({ after: 11, origin: `web UI, anna@${remote}` });
      const sw = await call(port, remote, 'POST', '/api/cameras/cam1/recipe', {
        json: { recipe: 'demo-b' },
        cookie,
      });
      expect(sw.status).toBe(200);
      expect(logs).toContainEqual(
        expect.objectContaining({ user: 'anna', from: remote, msg: expect.stringMatching(/recipe demo-b/) }),
      );
      expect(logs).toContainEqual(
        expect.objectContaining({
          user: 'anna',
          msg: `web UI: login refused for user "anna" from ${remote}`,
        }),
      );
      expect(JSON.stringify(logs)).not.toContain('anna-pass-1');

      const forged = `inspectd_session=${'A'.repeat(43)}`;
      expect((await threshold({ cookie: forged })).status).toBe(401);
      const out = await call(port, remote, 'POST', '/api/logout', { json: {}, cookie });
      expect(out.headers['set-cookie']?.[0]).toMatch(/^inspectd_session=; .*Max-Age=0/);
      expect((await threshold({ cookie })).status).toBe(401);
      // This box still acts without a login (localActionsWithoutLogin), and stats count the logins.
      expect(
        (await call(port, '127.0.0.1', 'POST', '/api/cameras/cam1/threshold', { json: { threshold: 12 } }))
          .status,
      ).toBe(200);
      expect(sinks.at(-1)!.stats()).toMatchObject({ logins: 1, loginsFailed: 2, sessions: 0 });
    });

    it('localActionsWithoutLogin false: this box needs a login too (a proxy on the box serving other hosts)', async () => {
      const users = path.join(tempDir('users'), 'users');
      writeFileSync(users, `ben:${hashPassword('ben-pass-12')}\n`);
      const port = await sink({ usersFile: users, localActionsWithoutLogin: false });
      const local = await call(port, '127.0.0.1', 'POST', '/api/cameras/cam1/threshold', {
        json: { threshold: 9 },
      });
      expect([local.status, local.body.error]).toEqual([
        401,
        expect.stringContaining('localActionsWithoutLogin is false'),
      ]);
      const login = await call(port, '127.0.0.1', 'POST', '/api/login', {
        json: { user: 'ben', password: 'ben-pass-12' },
      });
      const again = await call(port, '127.0.0.1', 'POST', '/api/cameras/cam1/threshold', {
        json: { threshold: 9 },
        cookie: cookieOf(login),
      });
      expect([again.status, again.body.origin]).toEqual([200, 'web UI, ben@127.0.0.1']);
    });

    it('guessing: a peer waits after repeated failures and gets one check at a time; others still log in; a burst never blocks the daemon', async () => {
      const users = path.join(tempDir('users'), 'users');
      writeFileSync(users, `anna:${hashPassword('anna-pass-1')}\n`);
      const port = await sink({ usersFile: users });
      const login = (from: string, password: string) =>
        call(port, from, 'POST', '/api/login', { json: { user: 'anna', password } });
      for (let i = 0; i < 4; i++) expect((await login(remote, `guess${i}`)).status).toBe(401);
      // The 4th failure beyond the 3 free ones costs a 1 s wait: the next guess, at once, is refused unchecked.
      const wait = await login(remote, 'anna-pass-1');
      expect([wait.status, wait.headers['retry-after'], wait.body.error]).toEqual([
        429,
        '1',
        `too many failed logins from ${remote}: try again in 1 s`,
      ]);
      // Another peer is not held up by that guesser.
      expect((await login('127.0.0.2', 'anna-pass-1')).status).toBe(200);

      // One peer sending many at once: the first is checked, the others answered at once.
      const same = await Promise.all(Array.from({ length: 8 }, () => login('127.0.0.3', 'x')));
      expect(same.filter((r) => r.status === 401).length).toBeGreaterThanOrEqual(1);
      expect(same.every((r) => r.status === 401 || r.status === 429)).toBe(true);
      expect(
        same.some((r) => r.body.error === 'a login from 127.0.0.3 is being checked: wait for its answer'),
      ).toBe(true);

      // Many peers at once: one scrypt at a time, a few waiting, the rest told to come back; meanwhile the
      // daemon answers other requests (scrypt runs off the event loop).
      let healthAt = 0;
      let lastLoginAt = 0;
      const burst = Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          login(`127.0.1.${i + 1}`, 'x').then((r) => ((lastLoginAt = Date.now()), r)),
        ),
      );
      const health = await call(port, '127.0.0.1', 'GET', '/healthz');
      healthAt = Date.now();
      const answers = await burst;
      expect(health.status).toBe(200);
      expect(healthAt).toBeLessThan(lastLoginAt);
      expect(answers.every((r) => r.status === 401 || r.status === 503)).toBe(true);
      expect(answers.filter((r) => r.status === 503).length).toBeGreaterThan(0);
      expect(answers.find((r) => r.status === 503)!.body.error).toBe(
        'too many logins at once: try again in a few seconds',
      );
      expect(sinks.at(-1)!.stats().loginsRefused).toBeGreaterThan(0);
    });
  },
);
