#!/usr/bin/env node
// The web UI's picture for the docs: starts the daemon on the demo configuration (its own ports and a
// temporary journal and archive), lets it inspect for a while, and saves a screenshot of the live view taken
// with Debian's chromium.
//
//   node scripts/screenshot-ui.mjs [--out docs/img/web-ui.png] [--seconds 40]
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
  await page.waitForTimeout(Number(args.seconds) * 1000);
  await page.screenshot({ path: args.out });
  process.stderr.write(`screenshot-ui: ${args.out}\n`);
} finally {
  await browser.close();
  daemon.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
}
