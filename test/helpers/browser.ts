import { cpSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { tempDir } from './fixtures.js';
import { demoConfig } from './line.js';
import { ROOT } from './paths.js';
import { freePort, startDaemon, waitFor } from './peers.js';

/** Debian's chromium (apt-get install chromium; scripts/install-deps.sh does), driven over CDP by playwright-core. */
export const CHROMIUM = process.env.INSPECTD_CHROMIUM ?? '/usr/bin/chromium';

function requireChromium(): void {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/install-deps.sh installs it)`);
}

/** Starts it headless, or fails saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  requireChromium();
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}

/**
 * This box's own non-loopback IPv4 address, if it has one. A server bound to it sees a request from it as from a
 * non-loopback peer, exactly as one from another host; a client may still reach it from 127.0.0.x (its local
 * address set so), a loopback peer as the line PC is.
 */
export const LAN_ADDRESS = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a?.family === 'IPv4' && !a.internal)?.address;

/**
 * The daemon with the demo's sim camera on copies of the demo recipe named `recipeNames` (in `recipes`), its
 * web UI on `http.host` (default 127.0.0.1) with the other `http` settings given, and chromium to open it.
 */
export async function startUiDaemon(recipeNames: string[], http: Record<string, unknown> = {}) {
  requireChromium(); // before the daemon starts, so a missing browser leaves none behind
  const host = (http.host as string | undefined) ?? '127.0.0.1';
  const port = await freePort();
  const recipes = tempDir('ui-recipes');
  for (const name of recipeNames)
    cpSync(path.join(ROOT, 'models', 'demo'), path.join(recipes, name), { recursive: true });
  const daemon = startDaemon(
    demoConfig({
      recipesDir: recipes,
      http: { host, port, ...http },
      mqtt: { url: '', embedded: { host: '127.0.0.1', port: await freePort() } },
    }),
  );
  const url = (p: string) => `http://${host}:${port}${p}`;
  await waitFor(async () => (await fetch(url('/readyz')).catch(() => undefined))?.ok, 'the daemon ready');
  const browser = await launchChromium();
  return {
    url,
    recipes,
    daemon,
    browser,
    stop: async () => {
      await browser.close();
      daemon.proc.kill('SIGTERM');
      await daemon.exited;
    },
  };
}

/**
 * A new page of the UI at `url`, every dialog accepted and its message kept in `asked`, once cam1's card shows
 * a verdict (its selector is `card`); `watch` is called before the page loads (to listen to its console).
 */
export async function openUi(browser: Browser, url: string, watch?: (page: Page) => void) {
  const page = await browser.newPage();
  watch?.(page);
  const asked: string[] = [];
  page.on('dialog', (d) => {
    asked.push(d.message());
    void d.accept();
  });
  await page.goto(url);
  const card = 'section.camera[data-camera="cam1"]';
  await page.waitForSelector(`${card}[data-result]`);
  return { page, asked, card };
}
