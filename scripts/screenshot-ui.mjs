#!/usr/bin/env node
// The web UI's pictures for the docs: starts the daemon on the demo configuration (its own ports and a
// temporary journal and archive), lets it inspect for a while, and saves screenshots taken with Debian's
// chromium: the live view, and the NG review's list and one NG verdict (marked as a false reject, through the
// same action the page sends, so the marks show).
//
//   node scripts/screenshot-ui.mjs [--pages live,review] [--out docs/img/web-ui.png] [--seconds 40]
//        [--review-out docs/img/web-ui-review.png] [--detail-out docs/img/web-ui-review-detail.png]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { root } from './lib/bench.mjs';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: path.join(root, 'docs', 'img', 'web-ui.png') },
    seconds: { type: 'string', default: '40' },
    pages: { type: 'string', default: 'live,review' },
    'review-out': { type: 'string', default: path.join(root, 'docs', 'img', 'web-ui-review.png') },
    'detail-out': { type: 'string', default: path.join(root, 'docs', 'img', 'web-ui-review-detail.png') },
  },
});
const chromiumPath = process.env.INSPECTD_CHROMIUM ?? '/usr/bin/chromium';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'inspectd-screenshot-'));
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const config = JSON.parse(readFileSync(path.join(root, 'config', 'demo.json'), 'utf8'));
const http = await freePort();
Object.assign(config, {
  recipesDir: path.join(root, 'models'),
  http: { host: '127.0.0.1', port: http },
  mqtt: { ...config.mqtt, embedded: { host: '127.0.0.1', port: await freePort() } },
  opcua: { ...config.opcua, enabled: false },
  archive: { ...config.archive, dir: path.join(tmp, 'archive') },
  journal: { path: path.join(tmp, 'journal.sqlite') },
});
writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(config));
const daemon = spawn(
  process.execPath,
  [path.join(root, 'dist', 'cli', 'main.js'), 'run', '--config', path.join(tmp, 'config.json')],
  {
    stdio: 'ignore',
    env: { ...process.env, INSPECTD_LOG_PRETTY: 'never' },
  },
);
const api = async (p, init) => (await fetch(`http://127.0.0.1:${http}${p}`, init)).json();

/** The review's list with two NG verdicts marked, then the newest marked one opened. */
async function review(page) {
  // Enough verdicts for a page, and two NG frames in the archive.
  for (let i = 0; (await api('/api/results?limit=1')).total < 30; i++) {
    if (i > 120) throw new Error('the daemon made no verdicts');
    await new Promise((r) => setTimeout(r, 500));
  }
  const archived = [];
  for (const v of (await api('/api/results?verdict=NG&limit=10')).verdicts)
    if ('frame' in (await api(`/api/results/${v.resultId}`)).archive) archived.push(v);
  const notes = ['', 'stain wiped off at rework: the plate is good'];
  for (const [i, v] of archived.slice(-2).entries())
    await api(`/api/results/${v.resultId}/mark`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-inspectd-action': '1' },
      body: JSON.stringify({ mark: 'false-reject', note: notes[i] }),
    });
  await page.goto(`http://127.0.0.1:${http}/#review`);
  await page.waitForSelector('#review-list[data-query] tbody tr');
  await page.screenshot({ path: args['review-out'] });
  process.stderr.write(`screenshot-ui: ${args['review-out']}\n`);
  const marked = archived.at(-1).resultId;
  await page.goto(`http://127.0.0.1:${http}/#review/${marked}`);
  await page.waitForSelector(`#review-detail[data-result="${marked}"]`);
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll('#review-detail .pictures img')).every(
      (i) => i.complete && i.naturalWidth,
    ),
  );
  await page.screenshot({ path: args['detail-out'], fullPage: true });
  process.stderr.write(`screenshot-ui: ${args['detail-out']}\n`);
}

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 820 } });
  for (let i = 0; ; i++) {
    try {
      await page.goto(`http://127.0.0.1:${http}/`);
      break;
    } catch (e) {
      if (i > 60) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await page.waitForSelector('section.camera[data-result]');
  const pages = args.pages.split(',');
  if (pages.includes('live')) {
    await page.waitForTimeout(Number(args.seconds) * 1000);
    await page.screenshot({ path: args.out });
    process.stderr.write(`screenshot-ui: ${args.out}\n`);
  }
  if (pages.includes('review')) await review(page);
} finally {
  await browser.close();
  daemon.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
}
