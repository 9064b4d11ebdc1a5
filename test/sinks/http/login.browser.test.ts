/// <reference lib="dom" />
// The functions given to page.waitForFunction run in the browser, hence the DOM types.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../src/core/users.js';
import { LAN_ADDRESS as LAN, openUi, startUiDaemon } from '../../helpers/browser.js';
import { tempDir } from '../../helpers/fixtures.js';

describe.skipIf(!LAN)(
  `web UI login in a real browser (Debian chromium) at this box's non-loopback address ${LAN ?? '(none here: skipped, no non-loopback IPv4 interface)'}, a non-loopback peer like another host`,
  () => {
    let ui: Awaited<ReturnType<typeof startUiDaemon>>;
    let browser: Browser;
    let url: (p: string) => string;

    beforeAll(async () => {
      const users = path.join(tempDir('login-ui-users'), 'users');
      writeFileSync(users, `anna:${hashPassword('anna-pass-1')}\n`);
      ui = await startUiDaemon(['demo'], { host: LAN, usersFile: users });
      ({ browser, url } = ui);
    }, 120_000);

    afterAll(() => ui?.stop());

    it('read-only until logged in (the buttons say why); a wrong password is told; logged in, a threshold applied is audited with the user; logout ends it', async () => {
      const problems: string[] = [];
      const { page, asked, card } = await openUi(browser, url('/'), (p) => {
        // The wrong password below is answered 401, which chromium logs as a failed resource: that one is expected.
        p.on(
          'console',
          (m) =>
            m.type() === 'error' &&
            !(/status of 401/.test(m.text()) && m.location().url.endsWith('/api/login')) &&
            problems.push(`console: ${m.text()} (${m.location().url})`),
        );
        p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      });
      try {
        await page.waitForFunction(
          () =>
            document.querySelector('#access .who')?.textContent === 'read-only: log in for operator actions',
        );
        expect(await page.isVisible('#access .login')).toBe(true);
        expect(await page.isHidden('#access .logout')).toBe(true);
        expect(await page.isDisabled(`${card} .apply`)).toBe(true);
        expect(await page.isDisabled(`${card} .switch button`)).toBe(true);
        expect(await page.textContent(`${card} .whatif .action-why`)).toBe(
          `(log in first: operator actions from other hosts (this request came from ${LAN}) need a login)`,
        );

        await page.fill('#access input[name=user]', 'anna');
        await page.fill('#access input[name=password]', 'wrong-pass');
        await page.click('#access .login button');
        await page.waitForFunction(
          () =>
            document.querySelector('#access .login-result')?.textContent === 'wrong user name or password',
        );
        expect(await page.isDisabled(`${card} .apply`)).toBe(true);

        await page.fill('#access input[name=password]', 'anna-pass-1');
        await page.click('#access .login button');
        await page.waitForFunction(
          () => document.querySelector('#access .who')?.textContent === 'logged in as anna',
        );
        expect(await page.isHidden('#access .login')).toBe(true);
        expect(await page.isEnabled(`${card} .apply`)).toBe(true);
        expect(await page.textContent(`${card} .whatif .action-why`)).toBe('');
        // The cookie is the browser's alone: scripts cannot read it (HttpOnly).
        expect(await page.evaluate(() => document.cookie)).toBe('');

        await page.click(`${card} .whatif summary`);
        await page.fill(`${card} .proposed`, '123.5');
        await page.click(`${card} .apply`);
        await page.waitForFunction(
          (sel) => /threshold now 123\.5/.test(document.querySelector(sel)?.textContent ?? ''),
          `${card} .apply-result`,
        );
        expect(asked).toEqual([expect.stringContaining('to 123.5?')]);
        await page.waitForSelector(`${card} .audit li`);
        expect(await page.textContent(`${card} .audit li`)).toContain(
          `→ 123.5 (web UI, anna@${LAN}, camera cam1)`,
        );
        const trail = (await (await fetch(url('/api/audit'))).json()) as { origin: string }[];
        expect(trail[0].origin).toBe(`web UI, anna@${LAN}`);

        await page.click('#access .logout');
        await page.waitForFunction(
          () =>
            document.querySelector('#access .who')?.textContent === 'read-only: log in for operator actions',
        );
        expect(await page.isDisabled(`${card} .apply`)).toBe(true);
        expect(problems).toEqual([]);
      } finally {
        await page.close();
      }
      const logs = ui.daemon.logs();
      expect(logs).toContainEqual(expect.objectContaining({ msg: `web UI: anna logged in from ${LAN}` }));
      expect(logs).toContainEqual(
        expect.objectContaining({ msg: expect.stringContaining('(web UI, anna@') }),
      );
    });
  },
);
