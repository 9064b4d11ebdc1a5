// What the benchmark scripts share: where the project is, its built modules, percentiles.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A module of the built daemon (npm run build), by its path under dist/. */
export const dist = (p) => import(path.join(root, 'dist', p));

/** The q-quantile (0..1) of xs, nearest rank. */
export const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/**
 * The daemon's Line for `settings` (a configuration object; journal in a temporary folder), with the recipes
 * the caller loaded: `recipes` (acquire/release) and one model per camera. Returns the line, its config,
 * metrics and journal.
 */
export async function benchLine(settings, { recipes, models, log }) {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const os = await import('node:os');
  const { Metrics } = await dist('core/metrics.js');
  const { Line } = await dist('app/line.js');
  const { HealthMonitor } = await dist('app/health.js');
  const { SqliteJournal } = await dist('journal/journal.js');
  const { loadConfig } = await dist('config/load.js');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'inspectd-bench-'));
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ ...settings, journal: { path: path.join(dir, 'journal.sqlite') } }));
  const config = loadConfig(file, {});
  const metrics = new Metrics();
  const journal = SqliteJournal.open(config.journal, log);
  const health = new HealthMonitor(config.health, log);
  const line = new Line({
    config,
    recipes: recipes(config),
    models: await models(config),
    journal,
    health,
    metrics,
    log,
  });
  return { line, config, metrics, journal };
}

/** A sink that only watches verdicts go by (timings, counts). */
export const probeSink = (name, publish) => ({
  name,
  start: async () => {},
  health: () => ({ ready: true }),
  stats: () => ({}),
  stop: async () => {},
  publish,
});
