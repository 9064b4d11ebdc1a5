/// <reference lib="dom" />
// The functions given to page.waitForFunction and $eval run in the browser, hence the DOM types.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Verdict } from '../../../src/core/verdict.js';
import { archiveBase } from '../../../src/core/review.js';
import { SqliteJournal } from '../../../src/journal/journal.js';
import { launchChromium } from '../../helpers/browser.js';
import { runCli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/fixtures.js';
import { demoConfig } from '../../helpers/line.js';
import { freePort, startDaemon, waitFor } from '../../helpers/peers.js';

/** The sim camera's frame size, not the recipe's (128 x 128): the archive keeps the camera's frame. */
const [WIDTH, HEIGHT] = [256, 256];

type Listed = Verdict & { mark?: { kind: string; note: string } };
interface Page1 {
  total: number;
  verdicts: Listed[];
}

/** A GET with the path sent exactly as written (fetch would normalize `..` away before it left). */
const rawGet = (port: number, p: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString('latin1')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });

describe('NG review in a real browser (Debian chromium): browse, detail, marks, export', () => {
  let port: number;
  let daemon: ReturnType<typeof startDaemon>;
  let browser: Browser;
  let config: string;
  let archive: string;
  let journal: string;
  /** An NG verdict the archive has, and an OK one it has not (OK frames are not archived). */
  let ng: Verdict;
  let ok: Verdict;
  const url = (p: string) => `http://127.0.0.1:${port}${p}`;
  const get = async <T>(p: string): Promise<T> => (await (await fetch(url(p))).json()) as T;
  const mark = (id: string, body: unknown, headers: Record<string, string> = { 'x-inspectd-action': '1' }) =>
    fetch(url(`/api/results/${id}/mark`), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    port = await freePort();
    archive = tempDir('review-archive');
    journal = path.join(tempDir('review-journal'), 'journal.sqlite');
    config = demoConfig(
      {
        http: { host: '127.0.0.1', port },
        mqtt: { url: '', embedded: { host: '127.0.0.1', port: await freePort() } },
        archive: { dir: archive, okSampleRate: 0 },
      },
      { source: { type: 'sim', width: WIDTH, height: HEIGHT, fps: 10, defectRate: 0.3, seed: 11 } },
    );
    daemon = startDaemon(config, { INSPECTD_JOURNAL: journal });
    await waitFor(async () => (await fetch(url('/readyz')).catch(() => undefined))?.ok, 'the daemon ready');
    // Enough verdicts for two pages, and an NG whose frame the archive has written.
    await waitFor(async () => (await get<Page1>('/api/results?limit=1')).total > 50, '50 verdicts');
    ng = await waitFor(async () => {
      for (const v of (await get<Page1>('/api/results?verdict=NG&limit=5')).verdicts) {
        const d = await get<{ archive: { frame?: string } }>(`/api/results/${v.resultId}`);
        if (d.archive.frame) return v;
      }
      return undefined;
    }, 'an archived NG frame');
    ok = (await get<Page1>('/api/results?verdict=OK&limit=1')).verdicts[0];
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    daemon?.proc.kill('SIGTERM');
    await daemon?.exited;
  });

  /**
   * Until the detail view's pictures have loaded: a navigation while they load aborts them (by design, not a
   * failure), so the test navigates only after.
   */
  const picturesLoaded = (page: Page) =>
    page.waitForFunction(() =>
      Array.from(document.querySelectorAll<HTMLImageElement>('#review-detail .pictures img')).every(
        (i) => i.complete && i.naturalWidth > 0,
      ),
    );

  /** A page of the UI whose console errors, page errors and failed requests are collected. */
  async function open(hash: string): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // Aborted by design: the live view's pictures replaced by newer ones while they load (see
    // ui.browser.test.ts), and the event stream a reload ends.
    page.on('requestfailed', (r) => {
      const expected =
        r.failure()?.errorText === 'net::ERR_ABORTED' &&
        /\/cameras\/[^/]+\/latest|\/api\/events$/.test(r.url());
      if (!expected) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
    await page.goto(url(`/${hash}`));
    return { page, problems };
  }

  /** Waits until the list shows the answer to a query holding `part` (the page sets data-query when drawn). */
  const listed = (page: Page, part: string) =>
    page.waitForFunction(
      (p) => document.querySelector<HTMLElement>('#review-list')?.dataset.query?.includes(p) ?? false,
      part,
    );
  const rows = (page: Page) =>
    page.$$eval('#review-list tbody tr', (trs) =>
      trs.map((tr) => ({
        id: (tr as HTMLElement).dataset.result!,
        cells: Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? ''),
      })),
    );
  /** Sets a datetime-local field to epoch ms, in the browser's own time zone. */
  const setTime = (page: Page, name: string, ms: number) =>
    page.$eval(
      `#review-filter [name=${name}]`,
      (el, t) => {
        const d = new Date(t);
        (el as HTMLInputElement).value = new Date(t - d.getTimezoneOffset() * 60_000)
          .toISOString()
          .slice(0, 19);
      },
      ms,
    );

  it('lists the verdicts newest first and filters them by verdict, part, camera and time, a page at a time', async () => {
    const { page, problems } = await open('#review');
    try {
      await listed(page, 'limit=25&offset=0');
      expect(await page.isVisible('#cameras')).toBe(false);
      const first = await rows(page);
      expect(first).toHaveLength(25);
      expect(await page.textContent('#review-summary')).toMatch(/^1–25 of \d+ verdicts, newest first$/);
      const times = await Promise.all(
        first
          .slice(0, 3)
          .map(async (r) => (await get<{ verdict: Verdict }>(`/api/results/${r.id}`)).verdict.decidedAt),
      );
      expect([...times].sort((a, b) => b - a)).toEqual(times);
      // The next page starts where the first ended.
      await page.click('#review-older');
      await listed(page, 'offset=25');
      expect(await page.textContent('#review-summary')).toMatch(/^26–50 of /);
      expect((await rows(page)).map((r) => r.id)).not.toContain(first[0].id);
      await page.click('#review-newer');
      await listed(page, 'limit=25&offset=0');

      await page.selectOption('#review-filter [name=verdict]', 'NG');
      await page.click('#review-filter button');
      await listed(page, 'verdict=NG');
      expect((await rows(page)).every((r) => r.cells[3] === 'NG')).toBe(true);

      await page.fill('#review-filter [name=partId]', ng.partId!);
      await page.click('#review-filter button');
      await listed(page, `partId=${ng.partId}`);
      expect((await rows(page)).map((r) => r.id)).toEqual([ng.resultId]);

      // The camera list comes from the line.
      expect(
        await page.$$eval('#review-filter [name=camera] option', (os) =>
          os.map((o) => (o as HTMLOptionElement).value),
        ),
      ).toEqual(['', 'cam1']);
      await page.selectOption('#review-filter [name=camera]', 'cam1');
      await page.fill('#review-filter [name=partId]', '');
      // The second the NG was decided in: it is listed, and nothing outside that second.
      const second = Math.floor(ng.decidedAt / 1000) * 1000;
      await setTime(page, 'from', second);
      await setTime(page, 'to', second + 1000);
      await page.click('#review-filter button');
      await listed(page, `from=${second}&to=${second + 1000}&camera=cam1&verdict=NG&limit`);
      const inSecond = await rows(page);
      expect(inSecond.map((r) => r.id)).toContain(ng.resultId);
      expect(inSecond.every((r) => r.cells[1] === 'cam1' && r.cells[3] === 'NG')).toBe(true);
      // An hour from now: nothing yet.
      const later = Math.floor(Date.now() / 1000) * 1000 + 3_600_000;
      await setTime(page, 'from', later);
      await page.fill('#review-filter [name=to]', '');
      await page.click('#review-filter button');
      await listed(page, `from=${later}&camera`);
      expect(await page.textContent('#review-summary')).toBe('no verdicts match');
      expect(await rows(page)).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("opens a verdict: the archive's full-resolution frame and overlay, score, threshold, regions; says when there is no frame", async () => {
    const { page, problems } = await open('#review');
    try {
      await page.fill('#review-filter [name=partId]', ng.partId!);
      await page.click('#review-filter button');
      await listed(page, `partId=${ng.partId}`);
      await page.click(`#review-list tr[data-result="${ng.resultId}"] a`);
      await page.waitForSelector(`#review-detail[data-result="${ng.resultId}"]`);
      expect(page.url()).toBe(url(`/#review/${ng.resultId}`));
      expect(await page.isVisible('#review-list')).toBe(false);
      const sizes = await page.waitForFunction(() => {
        const imgs = Array.from(document.querySelectorAll<HTMLImageElement>('#review-detail .pictures img'));
        return (
          imgs.every((i) => i.complete && i.naturalWidth > 0) &&
          imgs.map((i) => [i.naturalWidth, i.naturalHeight])
        );
      });
      expect(await sizes.jsonValue()).toEqual([
        [WIDTH, HEIGHT],
        [WIDTH, HEIGHT],
      ]);
      const facts = await page.textContent('#review-detail .facts');
      expect(facts).toContain(`score${ng.score.toFixed(4)}`);
      expect(facts).toContain(`threshold${ng.threshold.toFixed(4)}`);
      expect(facts).toContain(`part${ng.partId}`);
      expect(facts).toContain('marknone');
      expect(await page.locator('#review-detail .regions li').count()).toBe(Math.max(1, ng.regions.length));
      expect(await page.textContent('#review-detail .archive-missing')).toBe('');
      // The picture served is the archive's file, byte for byte.
      const served = Buffer.from(
        await (await fetch(url(`/api/archive/${ng.resultId}/frame.png`))).arrayBuffer(),
      );
      expect(served.equals(readFileSync(`${archiveBase(archive, ng)}.png`))).toBe(true);

      // An OK verdict: the archive keeps none (okSampleRate 0), and the page says so.
      await page.goto(url(`/#review/${ok.resultId}`));
      await page.waitForSelector(`#review-detail[data-result="${ok.resultId}"]`);
      expect(await page.textContent('#review-detail .archive-missing')).toBe(
        'No archived frame: OK frames are not archived (archive.okSampleRate 0): raise it to keep a sample of them.',
      );
      expect(await page.isVisible('#review-detail .pictures')).toBe(false);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('marks a false reject with a note and an escape, clears a mark: kept across reloads, in the list, its filter and the audit trail', async () => {
    const { page, problems } = await open(`#review/${ng.resultId}`);
    try {
      const detail = `#review-detail[data-result="${ng.resultId}"]`;
      await page.waitForSelector(detail);
      // An NG can be a false reject, not an escape.
      expect(await page.isVisible('#review-detail .for-ok')).toBe(false);
      await page.check('#review-detail [name=mark][value=false-reject]');
      await page.fill('#review-detail [name=note]', 'dust on the lens, part fine');
      await page.click('#review-detail .mark-form button');
      await page.waitForFunction(
        () => document.querySelector('#review-detail .mark-result')?.textContent === 'saved: false reject',
      );
      expect(await page.textContent('#review-detail dd.mark')).toBe(
        'false reject: dust on the lens, part fine',
      );
      // A new page load asks the daemon again.
      await picturesLoaded(page);
      await page.reload();
      await page.waitForSelector(detail);
      await picturesLoaded(page);
      expect(await page.textContent('#review-detail dd.mark')).toBe(
        'false reject: dust on the lens, part fine',
      );
      expect(await page.isChecked('#review-detail [name=mark][value=false-reject]')).toBe(true);

      await page.goto(url(`/#review/${ok.resultId}`));
      await page.waitForSelector(`#review-detail[data-result="${ok.resultId}"]`);
      expect(await page.isVisible('#review-detail .for-ng')).toBe(false);
      await page.check('#review-detail [name=mark][value=escape]');
      await page.click('#review-detail .mark-form button');
      await page.waitForFunction(
        () => document.querySelector('#review-detail .mark-result')?.textContent === 'saved: escape',
      );
      // Changed one's mind: cleared.
      await page.check('#review-detail [name=mark][value=""]');
      await page.click('#review-detail .mark-form button');
      await page.waitForFunction(
        () => document.querySelector('#review-detail .mark-result')?.textContent === 'saved: no mark',
      );
      await page.check('#review-detail [name=mark][value=escape]');
      await page.fill('#review-detail [name=note]', 'crack the model missed');
      await page.click('#review-detail .mark-form button');
      await page.waitForFunction(
        () => document.querySelector('#review-detail .mark-result')?.textContent === 'saved: escape',
      );

      // The list shows the marks, and filters by them.
      await page.click('#review-detail .back');
      await page.selectOption('#review-filter [name=mark]', 'any');
      await page.click('#review-filter button');
      await listed(page, 'mark=any');
      const shown = new Map((await rows(page)).map((r) => [r.id, r.cells[7]]));
      expect(shown).toEqual(
        new Map([
          [ok.resultId, 'escape: crack the model missed'],
          [ng.resultId, 'false reject: dust on the lens, part fine'],
        ]),
      );
      await page.selectOption('#review-filter [name=mark]', 'false-reject');
      await page.click('#review-filter button');
      await listed(page, 'mark=false-reject');
      expect((await rows(page)).map((r) => r.id)).toEqual([ng.resultId]);
      // The traceability CSV carries the marks too (the note quoted: it has a comma).
      const csv = (await (await fetch(url('/api/results?mark=any&format=csv'))).text()).trim().split('\r\n');
      expect(csv[0]).toMatch(/,regions,mark,markNote$/);
      const marked = csv
        .slice(1)
        .map((l) => [l.split(',')[0], /,(false-reject|escape),(.*)$/.exec(l)?.slice(1)]);
      expect(new Map(marked as [string, string[]][])).toEqual(
        new Map([
          [ok.resultId, ['escape', 'crack the model missed']],
          [ng.resultId, ['false-reject', '"dust on the lens, part fine"']],
        ]),
      );
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
    const trail =
      await get<
        { action: string; resultId: string; before: string | null; after: string | null; origin: string }[]
      >('/api/audit');
    expect(trail.map((e) => [e.action, e.resultId, e.before, e.after])).toEqual([
      ['mark', ok.resultId, null, 'escape'],
      ['mark', ok.resultId, 'escape', null],
      ['mark', ok.resultId, null, 'escape'],
      ['mark', ng.resultId, null, 'false-reject'],
    ]);
    expect(trail.every((e) => e.origin === 'web UI, 127.0.0.1')).toBe(true);
  });

  it('refuses a mark without the action header, of a verdict the journal lacks, or that does not fit the verdict', async () => {
    const error = async (r: Response) => [r.status, ((await r.json()) as { error: string }).error];
    expect(await error(await mark(ng.resultId, { mark: 'false-reject' }, {}))).toEqual([
      403,
      expect.stringContaining('x-inspectd-action'),
    ]);
    expect(await error(await mark('0f0f0f0f-aaaa-bbbb-cccc-000000000000', { mark: 'escape' }))).toEqual([
      404,
      expect.stringMatching(
        /^the journal has no verdict 0f0f0f0f-aaaa-bbbb-cccc-000000000000: mark a verdict/,
      ),
    ]);
    expect(await error(await mark(ok.resultId, { mark: 'false-reject' }))).toEqual([
      409,
      expect.stringContaining('is OK: a false reject is an NG verdict on a good part'),
    ]);
    expect(await error(await mark(ng.resultId, { mark: 'good' }))).toEqual([
      400,
      'send {"mark": "false-reject" | "escape" | null, "note": "<text>"}; got mark "good"',
    ]);
    expect(await error(await mark(ng.resultId, { mark: 'false-reject', note: 7 }))).toEqual([
      400,
      expect.stringContaining('"note" is text of at most 300 characters'),
    ]);
    expect(await error(await mark('a%2F..%2Fb', { mark: 'escape' }))).toEqual([
      400,
      expect.stringContaining('is not a result id'),
    ]);
    // Nothing changed: the marks of the test before stand.
    const marked = await get<Page1>('/api/results?mark=any');
    expect(new Map(marked.verdicts.map((v) => [v.resultId, v.mark?.kind]))).toEqual(
      new Map([
        [ok.resultId, 'escape'],
        [ng.resultId, 'false-reject'],
      ]),
    );
  });

  it('the archive endpoint serves only the archive files of journalled verdicts: no path climbs out', async () => {
    const attempts = [
      ['/api/archive/..%2F..%2F..%2Fetc%2Fpasswd/frame.png', 400],
      ['/api/archive/%2e%2e%2f%2e%2e%2fetc%2fpasswd/frame.png', 400],
      [`/api/archive/${ng.resultId}/../../../../etc/passwd`, 404],
      ['/api/archive/%2e%2e/%2e%2e/%2e%2e/etc/passwd', 404],
      [`/api/archive/${ng.resultId}/${ng.resultId}.json`, 404],
      [`/api/archive/${ng.resultId}/frame.png%00.json`, 404],
      ['/api/archive/unknown-verdict/frame.png', 404],
      [`/api/results/..%2F${path.basename(journal)}`, 400],
    ] as const;
    for (const [p, status] of attempts) {
      const r = await rawGet(port, p);
      expect([p, r.status]).toEqual([p, status]);
      expect(r.body).not.toMatch(/root:|SQLite format|PNG/);
    }
    expect((await rawGet(port, '/api/archive/unknown-verdict/frame.png')).body).toMatch(
      /^the journal has no verdict unknown-verdict/,
    );
    expect((await rawGet(port, `/api/archive/${ok.resultId}/overlay.png`)).body).toMatch(
      /has no archived picture: OK frames are not archived/,
    );
    const overlay = await fetch(url(`/api/archive/${ng.resultId}/overlay.png`));
    expect([overlay.status, overlay.headers.get('content-type')]).toEqual([200, 'image/png']);
    expect(
      Buffer.from(await overlay.arrayBuffer()).equals(
        readFileSync(`${archiveBase(archive, ng)}.heatmap.png`),
      ),
    ).toBe(true);
  });

  it('export-marks writes the marked frames as an image set with its manifest, beside the daemon; the marks outlive it', async () => {
    const out = path.join(tempDir('review-export'), 'set');
    const env = { INSPECTD_JOURNAL: journal };
    const r = await runCli(['export-marks', '--config', config, '--out', out], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^export-marks: 1 frames written to .* \(1 in test\/good, 0 in test\/defect\), manifest\.csv lists all 2 marked verdicts/,
    );
    expect(r.stderr).toContain('1 marked verdicts have no archived frame');
    const good = readdirSync(path.join(out, 'test', 'good'));
    expect(good).toEqual([expect.stringMatching(new RegExp(`^\\d{8}T\\d{9}_cam1_${ng.resultId}\\.png$`))]);
    expect(
      readFileSync(path.join(out, 'test', 'good', good[0])).equals(
        readFileSync(`${archiveBase(archive, ng)}.png`),
      ),
    ).toBe(true);
    expect(existsSync(path.join(out, 'test', 'defect'))).toBe(false);
    const [header, ...lines] = readFileSync(path.join(out, 'manifest.csv'), 'utf8').trim().split('\r\n');
    // Oldest first.
    const manifest = [header, ...(ng.seq < ok.seq ? lines : lines.reverse())];
    expect(lines).toHaveLength(2);
    expect(manifest[0]).toBe(
      'resultId,seq,decidedAt,camera,recipe,partId,verdict,score,threshold,mark,note,markedAt,markedFrom,file,source,missing',
    );
    expect(manifest[1]).toContain(
      `${ng.resultId},${ng.seq},${new Date(ng.decidedAt).toISOString()},cam1,demo,${ng.partId},NG,${ng.score},`,
    );
    expect(manifest[1]).toContain(`,false-reject,"dust on the lens, part fine",`);
    expect(manifest[1]).toContain(`,test/good/${good[0]},${archiveBase(archive, ng)}.png,`);
    expect(manifest[2]).toMatch(
      new RegExp(`^${ok.resultId},.*,OK,.*,escape,crack the model missed,.*,,,OK frames are not archived`),
    );
    // Never over an earlier set; a bad flag names what is allowed.
    const again = await runCli(['export-marks', '--config', config, '--out', out], env);
    expect([again.code, again.stderr]).toEqual([
      1,
      expect.stringContaining(`export folder ${out} is not empty`),
    ]);
    const bad = await runCli(['export-marks', '--config', config, '--out', `${out}2`, '--mark', 'good'], env);
    expect([bad.code, bad.stderr]).toEqual([
      2,
      expect.stringContaining('--mark: got "good"; allowed: one of any, false-reject, escape'),
    ]);
    const none = await runCli(
      ['export-marks', '--config', config, '--out', `${out}3`, '--camera', 'cam9'],
      env,
    );
    expect([none.code, none.stderr]).toEqual([
      1,
      expect.stringContaining('no marked verdicts match (mark any, camera cam9)'),
    ]);
    expect(existsSync(`${out}3`)).toBe(false);

    // The daemon stops; the journal, opened again, still has the marks with their verdicts.
    daemon.proc.kill('SIGTERM');
    await daemon.exited;
    const reopened = SqliteJournal.openReadOnly({
      path: journal,
      synchronous: 'normal',
      retainDays: 90,
      maxRows: 1e6,
      maxBytes: 1e9,
    });
    try {
      expect(
        reopened
          .query({ mark: 'any' })
          .verdicts.map((v) => v.resultId)
          .sort(),
      ).toEqual([ok.resultId, ng.resultId].sort());
      expect(reopened.marks([ng.resultId]).get(ng.resultId)).toMatchObject({
        kind: 'false-reject',
        note: 'dust on the lens, part fine',
      });
    } finally {
      reopened.close();
    }
  });
});
