/// <reference lib="dom" />
// The functions given to page.waitForFunction run in the browser, hence the DOM types.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openUi, startUiDaemon } from '../../helpers/browser.js';
import { waitFor } from '../../helpers/peers.js';

const MAX_LIVE_VIEWS = 3;

describe('web UI in a real browser (Debian chromium)', () => {
  let ui: Awaited<ReturnType<typeof startUiDaemon>>;
  let browser: Browser;
  let recipes: string;
  let url: (p: string) => string;

  beforeAll(async () => {
    // Two recipes to switch between: the demo, and a copy of it under another name.
    ui = await startUiDaemon(['demo', 'demo-b'], { maxLiveViews: MAX_LIVE_VIEWS });
    ({ browser, recipes, url } = ui);
  }, 120_000);

  afterAll(() => ui?.stop());

  it('loads with no console error, then shows live verdicts, pictures and charts without reloading', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // A picture still loading when a newer verdict's picture replaces it is aborted by the browser: by design
    // (the newest wins). Such an abort is kept aside and checked to have been replaced; any other failure counts.
    const aborted: string[] = [];
    page.on('requestfailed', (r) =>
      r.failure()?.errorText === 'net::ERR_ABORTED' &&
      /\/cameras\/[^/]+\/latest[-a-z]*\.png\?r=/.test(r.url())
        ? aborted.push(r.url())
        : problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`),
    );
    page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
    try {
      await page.goto(url('/'));
      const card = 'section.camera[data-camera="cam1"]';
      await page.waitForSelector(`${card}[data-result]`);
      let navigations = 0;
      page.on('framenavigated', () => navigations++);
      const first = await page.getAttribute(card, 'data-result');
      // A later verdict takes its place on the same page: it came over the event stream.
      await page.waitForFunction(
        ([sel, r]) => document.querySelector<HTMLElement>(sel)?.dataset.result !== r,
        [card, first] as const,
      );
      expect(navigations).toBe(0);
      expect(await page.textContent(`${card} .badge`)).toMatch(/^(OK|NG)$/);
      expect(await page.textContent(`${card} .meta`)).toMatch(/^demo · sim streaming · cpu/);
      expect(await page.textContent('#state')).toBe('ready');
      // The pictures load (the server answered with PNGs), and the three charts are drawn.
      await page.waitForFunction(
        (sel) =>
          Array.from(document.querySelectorAll<HTMLImageElement>(`${sel} img`)).every(
            (i) => i.complete && i.naturalWidth > 0,
          ),
        card,
      );
      expect(await page.locator(`${card} .chart canvas`).count()).toBe(3);
      // The score chart has a line on it: pixels were drawn in its plot.
      await page.waitForFunction((sel) => {
        const c = document.querySelector<HTMLCanvasElement>(`${sel} .score-chart canvas`)!;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let drawn = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) drawn++;
        return drawn > 100;
      }, card);
      expect(problems).toEqual([]);
      const shown = await page.$$eval(`${card} img`, (imgs) => imgs.map((i) => (i as HTMLImageElement).src));
      for (const a of aborted)
        expect(shown, 'an aborted picture is one a newer picture replaced').not.toContain(a);
    } finally {
      await page.close();
    }
  });

  it('threshold what-if: counts what a proposed threshold would flag among recent parts, changing nothing', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(url('/'));
      const card = 'section.camera[data-camera="cam1"]';
      await page.waitForSelector(`${card}[data-result]`);
      await page.click(`${card} .whatif summary`);
      // Opening it proposes the recipe's own threshold, and counts.
      await page.waitForFunction(
        (sel) =>
          /it would flag \d+ of the last \d+ parts/.test(document.querySelector(sel)?.textContent ?? ''),
        `${card} .whatif-result`,
      );
      const threshold = Number(await page.inputValue(`${card} .proposed`));
      expect(threshold).toBeGreaterThan(0);
      await page.fill(`${card} .proposed`, '1000000');
      expect(await page.textContent(`${card} .whatif-result`)).toMatch(
        /would flag 0 of the last (\d+) parts \(0\.0 %\)/,
      );
      await page.fill(`${card} .proposed`, '0');
      const all = await page.textContent(`${card} .whatif-result`);
      const [, k, n] = /would flag (\d+) of the last (\d+) parts/.exec(all ?? '')!;
      expect(k).toBe(n);
      // The sim camera knows which parts it made defective: the what-if says what the proposal would cost.
      expect(all).toMatch(/Of the parts with known truth: \d+ good rejected, 0 defective passed\./);
      expect(await page.textContent(`${card} .distribution`)).toMatch(/median [\d.]+, 90th percentile/);
      // Nothing changed on the line: the daemon's threshold is the recipe's.
      const status = (await (await fetch(url('/api/results?camera=cam1&limit=1'))).json()) as {
        verdicts: { threshold: number }[];
      };
      expect(status.verdicts[0].threshold).toBeCloseTo(threshold, 3);
    } finally {
      await page.close();
    }
  });

  it(`serves at most http.maxLiveViews (${MAX_LIVE_VIEWS}) event streams; the next is told why`, async () => {
    // The pages of the tests before have closed their streams; the server learns it when the sockets close.
    await waitFor(
      async () =>
        /inspectd_sink_stat\{sink="http",stat="liveViews"\} 0\b/.test(
          await (await fetch(url('/metrics'))).text(),
        ),
      'no live view open',
    );
    const open: AbortController[] = [];
    try {
      for (let i = 0; i < MAX_LIVE_VIEWS; i++) {
        const ac = new AbortController();
        open.push(ac);
        const r = await fetch(url('/api/events'), { signal: ac.signal });
        expect(r.status).toBe(200);
        expect(r.headers.get('content-type')).toBe('text/event-stream');
      }
      const refused = await fetch(url('/api/events'));
      expect(refused.status).toBe(503);
      expect(await refused.text()).toMatch(/raise it|close one/);
      // One closes: another may come in.
      open.shift()!.abort();
      const again = await waitFor(async () => {
        const r = await fetch(url('/api/events'));
        if (r.status === 200) return r;
        await r.text();
        return undefined;
      }, 'a free live view');
      await again.body?.cancel();
    } finally {
      for (const ac of open) ac.abort();
    }
  });

  it('yield per hour comes from the journal; a wrong camera or time is told what to give', async () => {
    const hours = (await (await fetch(url('/api/yield?camera=cam1'))).json()) as {
      hour: number;
      ok: number;
      ng: number;
    }[];
    expect(hours.length).toBeGreaterThan(0);
    expect(hours.at(-1)!.ok + hours.at(-1)!.ng).toBeGreaterThan(0);
    expect(hours.at(-1)!.hour % 3_600_000).toBe(0);
    const bad = await fetch(url('/api/yield?camera=nope'));
    expect(bad.status).toBe(404);
    expect(await bad.text()).toContain('cameras: cam1');
    expect((await fetch(url('/api/yield?camera=cam1&from=yesterday'))).status).toBe(400);
  });

  it('switches a recipe after the operator confirms; refuses an action without its header or for a missing recipe', async () => {
    const action = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(url('/api/cameras/cam1/recipe'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const noHeader = await action({ recipe: 'demo-b' });
    expect(noHeader.status).toBe(403);
    expect(((await noHeader.json()) as { error: string }).error).toContain('x-inspectd-action');
    const missing = await action({ recipe: 'nope' }, { 'x-inspectd-action': '1' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toContain('recipes: demo, demo-b');
    const put = await fetch(url('/api/cameras/cam1/recipe'), { method: 'PUT', body: '{}' });
    expect([put.status, put.headers.get('allow')]).toEqual([405, 'POST']);

    const { page, asked, card } = await openUi(browser, url('/'));
    try {
      expect(await page.inputValue(`${card} .recipe-choice`)).toBe('demo');
      await page.selectOption(`${card} .recipe-choice`, 'demo-b');
      await page.click(`${card} .switch button`);
      await page.waitForFunction(
        (sel) => document.querySelector(sel)?.textContent === 'now on demo-b',
        `${card} .switch-result`,
      );
      expect(asked).toEqual([expect.stringContaining('Switch camera cam1 from recipe demo to demo-b?')]);
      // The status stream shows the new recipe, and verdicts come from it.
      await page.waitForFunction(
        (sel) => /^demo-b · /.test(document.querySelector(sel)?.textContent ?? ''),
        `${card} .meta`,
      );
      await waitFor(async () => {
        const r = (await (await fetch(url('/api/results?camera=cam1&limit=1'))).json()) as {
          verdicts: { recipe: string }[];
        };
        return r.verdicts[0]?.recipe === 'demo-b';
      }, 'a verdict by demo-b');
    } finally {
      await page.close();
    }
  });
  it('applies a what-if threshold after the operator confirms: into the recipe, the next verdicts and the audit trail', async () => {
    const post = (
      camera: string,
      body: unknown,
      headers: Record<string, string> = { 'x-inspectd-action': '1' },
    ) =>
      fetch(url(`/api/cameras/${camera}/threshold`), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const error = async (r: Response) => ((await r.json()) as { error: string }).error;
    let r = await post('cam1', { threshold: 1 }, {});
    expect([r.status, await error(r)]).toEqual([403, expect.stringContaining('x-inspectd-action')]);
    r = await post('cam1', { threshold: 'high' });
    expect([r.status, await error(r)]).toEqual([400, 'send {"threshold": <number>}; got "high"']);
    r = await post('cam9', { threshold: 1 });
    expect([r.status, await error(r)]).toEqual([404, expect.stringContaining('cameras: cam1')]);
    expect(await (await fetch(url('/api/audit'))).json()).toEqual([]);

    const status = (await (await fetch(url('/api/status'))).json()) as {
      cameras: { id: string; recipe: string }[];
    };
    const recipe = status.cameras.find((c) => c.id === 'cam1')!.recipe;
    const manifestFile = path.join(recipes, recipe, 'manifest.json');
    const fitted = (
      JSON.parse(readFileSync(manifestFile, 'utf8')) as { threshold: { value: number; rule: string } }
    ).threshold;
    const proposed = Number((fitted.value * 1.5).toFixed(4));

    const page = await browser.newPage();
    const answers = [false, true];
    const asked: string[] = [];
    page.on('dialog', (d) => {
      asked.push(d.message());
      void (answers.shift() ? d.accept() : d.dismiss());
    });
    try {
      await page.goto(url('/'));
      const card = 'section.camera[data-camera="cam1"]';
      await page.waitForSelector(`${card}[data-result]`);
      await page.click(`${card} .whatif summary`);
      await page.fill(`${card} .proposed`, String(proposed));
      // Cancelled: nothing changes.
      await page.click(`${card} .apply`);
      expect(asked[0]).toContain(`Set the threshold of recipe ${recipe} from`);
      expect(asked[0]).toContain(`to ${proposed}?`);
      expect(await (await fetch(url('/api/audit'))).json()).toEqual([]);
      // Confirmed.
      await page.click(`${card} .apply`);
      await page.waitForFunction(
        (sel) => /threshold now/.test(document.querySelector(sel)?.textContent ?? ''),
        `${card} .apply-result`,
      );
      expect(await page.textContent(`${card} .apply-result`)).toBe(
        `recipe ${recipe}: threshold now ${proposed}`,
      );
      await page.waitForSelector(`${card} .audit li`);
      expect(await page.textContent(`${card} .audit li`)).toContain(
        `→ ${proposed} (web UI, 127.0.0.1, camera cam1)`,
      );
    } finally {
      await page.close();
    }
    const trail = (await (await fetch(url('/api/audit'))).json()) as Record<string, unknown>[];
    expect(trail).toEqual([
      expect.objectContaining({
        seq: 1,
        action: 'threshold',
        camera: 'cam1',
        recipe,
        before: fitted.value,
        after: proposed,
        origin: 'web UI, 127.0.0.1',
      }),
    ]);
    // Written into the recipe, the fit's value kept beside it; the next verdicts are judged by it.
    expect(JSON.parse(readFileSync(manifestFile, 'utf8'))).toMatchObject({
      threshold: { value: proposed, rule: 'operator', fitted: { value: fitted.value, rule: fitted.rule } },
    });
    await waitFor(async () => {
      const res = (await (await fetch(url('/api/results?camera=cam1&limit=1'))).json()) as {
        verdicts: { threshold: number; recipe: string }[];
      };
      return res.verdicts[0]?.threshold === proposed;
    }, 'a verdict judged by the applied threshold');
  });
});
