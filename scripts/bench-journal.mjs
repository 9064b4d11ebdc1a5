#!/usr/bin/env node
// The verdict journal's cost: what committing a verdict adds to each frame (p50/p99 of append, one transaction
// per verdict as the line does it), and how many verdicts a second it sustains, for synchronous=normal and
// synchronous=full, beside the baseline the same run measures: serializing the verdict, which every sink pays
// anyway (the MQTT payload). Then end to end: appended and published from the journal to an MQTT broker
// (the embedded one) through the outbox, in order, acknowledged.
// Usage: node scripts/bench-journal.mjs [verdicts]   (default 20000)
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { dist as d, pct } from './lib/bench.mjs';

const { SqliteJournal } = await d('journal/journal.js');
const { Outbox } = await d('sinks/mqtt/outbox.js');
const { EmbeddedBroker } = await d('sinks/mqtt/embeddedBroker.js');
const mqtt = (await import('mqtt')).default;

const n = Number(process.argv[2] ?? 20000);
const log = pino({ level: 'warn' });
const fmt = (x) => (x < 0.1 ? x.toFixed(3) : x.toFixed(2));

let k = 0;
const verdict = () => {
  k++;
  return {
    resultId: `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`,
    cameraId: `cam${k % 4}`,
    recipe: 'magnetic_tile',
    modelVersion: '0123456789ab',
    partId: `P-${k}`,
    jobId: 'job-1',
    seq: k,
    ok: k % 5 !== 0,
    score: 12.5,
    threshold: 20,
    normalizedScore: 0.62,
    regions: k % 5 ? [] : [{ x: 10, y: 12, width: 30, height: 8, area: 190, peak: 31.2 }],
    timings: { queueMs: 0.1, preprocessMs: 1.2, inferenceMs: 2.3, decisionMs: 0.1, totalMs: 4.1 },
    capturedAt: Date.now(),
    decidedAt: Date.now(),
    origin: 'gige://192.168.10.20/block/1234',
    heatScale: { lo: 3.1, hi: 30 },
  };
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'inspectd-bench-journal-'));
const settings = (synchronous, name) => ({
  path: path.join(dir, `${name}.sqlite`),
  synchronous,
  retainDays: 0,
  maxRows: 1e9,
  maxBytes: 2 ** 40,
});

// Baseline: what a verdict already costs every sink (its JSON).
const base = [];
for (let i = 0; i < n; i++) {
  const v = verdict();
  const t0 = performance.now();
  JSON.stringify(v);
  base.push(performance.now() - t0);
}
console.log(
  `verdicts ${n}; baseline (serialize one verdict) p50 ${fmt(pct(base, 0.5))} ms p99 ${fmt(pct(base, 0.99))} ms`,
);

for (const sync of ['normal', 'full']) {
  const count = sync === 'full' ? Math.min(n, 2000) : n;
  const j = SqliteJournal.open(settings(sync, sync), log);
  const added = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const v = verdict();
    const a = performance.now();
    j.append(v);
    added.push(performance.now() - a);
  }
  const rate = count / ((performance.now() - t0) / 1000);
  j.close();
  console.log(
    `journal synchronous=${sync.padEnd(6)} added per verdict p50 ${fmt(pct(added, 0.5))} ms p99 ${fmt(pct(added, 0.99))} ms` +
      `  (${(pct(added, 0.5) / pct(base, 0.5)).toFixed(1)}x the baseline)  sustained ${Math.round(rate)} verdicts/s (${count} verdicts)`,
  );
}

// End to end: append as fast as it goes while the outbox publishes (QoS 1) to the embedded broker.
const broker = new EmbeddedBroker('127.0.0.1', 0, log);
await broker.start();
const client = await mqtt.connectAsync(broker.url);
const j = SqliteJournal.open(settings('normal', 'e2e'), log);
const outbox = new Outbox(
  j,
  'mqtt',
  100,
  (e, done) =>
    client.publish(`bench/v/${e.verdict.cameraId}`, JSON.stringify(e.verdict), { qos: 1 }, (err) =>
      done(err),
    ),
  () => client.connected,
  log,
);
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  j.append(verdict());
  outbox.pump();
  // Let acknowledgements in now and then, as frames do in the daemon.
  if (i % 200 === 0) await new Promise((r) => setImmediate(r));
}
await outbox.drain(Date.now() + 120_000);
const secs = (performance.now() - t0) / 1000;
outbox.save();
console.log(
  `end to end (journal + outbox + MQTT QoS 1 to the embedded broker): ${Math.round(n / secs)} verdicts/s, ` +
    `${outbox.published} published, ${outbox.held} held, cursor saved`,
);
await client.endAsync();
await broker.stop();
j.close();
rmSync(dir, { recursive: true, force: true });
