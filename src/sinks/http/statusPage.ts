import type { StatusView } from './httpSink.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The status page: one card per camera with its latest frame, heatmap, counters and recent verdicts. */
export function renderStatusPage({ cameras, readiness }: StatusView): string {
  const cards = cameras
    .map((c) => {
      // Sources that know the truth (the sim camera) get a column for it: the demo shows what was caught.
      const hasTruth = c.recent.some((v) => v.label);
      const rows = c.recent
        .map(
          (v) =>
            `<tr class="${v.ok ? 'ok' : 'ng'}"><td>${new Date(v.decidedAt).toISOString().slice(11, 23)}</td><td>${esc(v.partId ?? '')}</td><td>${v.ok ? 'OK' : 'NG'}</td><td>${v.score.toFixed(3)}</td><td>${v.normalizedScore.toFixed(2)}</td><td>${v.regions.length}</td><td>${v.timings.inferenceMs.toFixed(1)}</td>${hasTruth ? `<td>${v.label ? (v.label.defective ? esc(v.label.kind ?? 'defect') : 'good') : ''}</td>` : ''}</tr>`,
        )
        .join('');
      const id = encodeURIComponent(c.id);
      const last = c.recent[0];
      return `<section><h2>${esc(c.id)} <small>${esc(c.recipe)} · ${esc(c.source.kind)} ${esc(c.source.state)} · ${esc(c.provider)}</small></h2>
<div class="imgs">${last ? `<figure><img src="/cameras/${id}/latest.png?r=${esc(last.resultId)}" alt="latest frame"><img src="/cameras/${id}/latest-heatmap.png?r=${esc(last.resultId)}" alt="latest heatmap"><figcaption>latest frame</figcaption></figure>` : '<p>no frame yet</p>'}
${c.lastNg ? `<figure><img src="/cameras/${id}/latest-ng.png?r=${esc(c.lastNg)}" alt="latest NG frame"><img src="/cameras/${id}/latest-ng-heatmap.png?r=${esc(c.lastNg)}" alt="latest NG heatmap"><figcaption>latest NG</figcaption></figure>` : ''}</div>
<p>frames ${c.counts.frames} · OK ${c.counts.ok} · NG ${c.counts.ng} · unreadable ${c.counts.badImages} · dropped ${c.counts.dropped} · failed ${c.counts.failed} · queue ${c.queueDepth}</p>
<table><tr><th>time (UTC)</th><th>part</th><th>verdict</th><th>score</th><th>score/threshold</th><th>regions</th><th>model ms</th>${hasTruth ? '<th>truth</th>' : ''}</tr>${rows}</table></section>`;
    })
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>inspectd</title>
<style>body{font-family:sans-serif;margin:1em;background:#f6f6f6}section{background:#fff;padding:1em;margin-bottom:1em;border-radius:6px}
.imgs{display:flex;gap:16px;flex-wrap:wrap}figure{margin:0}figcaption{color:#666;font-size:90%}img{width:200px;height:200px;image-rendering:pixelated;margin-right:8px;border:1px solid #ccc}table{border-collapse:collapse;font-size:90%}
td,th{padding:2px 8px;text-align:right}tr.ng td{background:#fdd}tr.ok td{background:#efe}small{color:#666;font-weight:normal}.state{font-weight:bold}</style></head>
<body><h1>inspectd <span class="state" style="color:${readiness.ready ? 'green' : '#c00'}">${readiness.ready ? 'ready' : `${readiness.state}: ${esc(readiness.reasons.join('; '))}`}</span></h1>
${cards || '<p>no cameras configured</p>'}</body></html>`;
}
