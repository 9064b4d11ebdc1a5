// The live view: one card per camera, filled from /api/status and /api/results, then kept current by the
// daemon's Server-Sent Events (/api/events): a verdict event per frame, a status event every 2 s. No reloads,
// no polling, nothing from outside the daemon (uPlot is served by it).
'use strict';

/** Points kept per chart: a few minutes of a fast camera. */
const KEEP = 600;
/** Pictures are refreshed at most this often per camera (ms): a 50 fps camera must not flood the browser. */
const PICTURE_EVERY_MS = 250;

const cards = new Map();
const $ = (root, sel) => root.querySelector(sel);
const text = (el, s) => {
  if (el.textContent !== s) el.textContent = s;
};
const fixed = (x, d) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');

async function getJson(url) {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return r.json();
}

function chart(el, series, opts = {}) {
  const width = Math.min(520, Math.max(280, el.parentElement.clientWidth / 3 - 24));
  return new uPlot(
    {
      width,
      height: 170,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      series: [{}, ...series],
      ...opts,
    },
    [[], ...series.map(() => [])],
    el,
  );
}

function makeCard(cam) {
  const node = document.getElementById('camera-card').content.firstElementChild.cloneNode(true);
  node.dataset.camera = cam.id;
  text($(node, '.id'), cam.id);
  document.getElementById('cameras').append(node);
  const card = {
    node,
    lastPicture: 0,
    pendingPicture: undefined,
    score: { t: [], s: [], th: [] },
    // Recent verdicts' score and, where the source knows it, the truth: what the what-if counts.
    recent: [],
    latency: { t: [], model: [], total: [] },
    yield: new Map(),
  };
  card.scoreChart = chart($(node, '.score-chart'), [
    { label: 'score', stroke: '#2563eb', points: { show: true, size: 3 } },
    { label: 'threshold', stroke: '#dc2626', dash: [6, 4], points: { show: false } },
  ]);
  card.latencyChart = chart($(node, '.latency-chart'), [
    { label: 'model', stroke: '#7c3aed' },
    { label: 'capture to verdict', stroke: '#0891b2' },
  ]);
  // OK and NG side by side in each hour; the axis always spans the last 24 hours, however few have data.
  const bars = (align) => uPlot.paths.bars({ size: [0.4, 30], align });
  const day = () => {
    const hour = Math.floor(Date.now() / 3600000) * 3600;
    return [hour - 23.5 * 3600, hour + 0.5 * 3600];
  };
  card.yieldChart = chart(
    $(node, '.yield-chart'),
    [
      { label: 'OK', stroke: '#16a34a', fill: '#16a34a88', paths: bars(-1), points: { show: false } },
      { label: 'NG', stroke: '#dc2626', fill: '#dc262688', paths: bars(1), points: { show: false } },
    ],
    { scales: { x: { time: true, range: day }, y: { range: (u, min, max) => [0, Math.max(1, max)] } } },
  );
  $(node, '.switch').addEventListener('submit', (e) => {
    e.preventDefault();
    switchRecipe(card, cam.id).catch((err) => text($(node, '.switch-result'), err.message));
  });
  const input = $(node, '.proposed');
  input.addEventListener('input', () => whatIf(card));
  $(node, '.whatif').addEventListener('toggle', () => {
    whatIf(card);
    showAudit(card).catch((err) => text($(node, '.apply-result'), err.message));
  });
  $(node, '.apply').addEventListener('click', () => {
    applyThreshold(card, cam.id).catch((err) => text($(node, '.apply-result'), err.message));
  });
  cards.set(cam.id, card);
  access.follow(node);
  return card;
}

/** Fills each camera's recipe list from the recipes folder, the active one selected. */
function showRecipes(recipes, status) {
  for (const c of status.cameras) {
    const select = $(cards.get(c.id).node, '.recipe-choice');
    select.replaceChildren(...recipes.map((r) => new Option(r, r, false, r === c.recipe)));
  }
}

/**
 * The same switch MQTT and OPC UA make, after the operator confirms it. The daemon takes it from this box or
 * a logged-in browser, and only with the action header (see docs/web-ui.md, "Access").
 */
async function switchRecipe(card, camera) {
  const n = card.node;
  const recipe = $(n, '.recipe-choice').value;
  const from = card.recipe;
  if (!recipe || recipe === from) return text($(n, '.switch-result'), `already on ${from}`);
  if (
    !confirm(
      `Switch camera ${camera} from recipe ${from} to ${recipe}? Frames from now on are judged by ${recipe}.`,
    )
  )
    return;
  text($(n, '.switch-result'), `switching to ${recipe}…`);
  const r = await fetch(`/api/cameras/${encodeURIComponent(camera)}/recipe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-inspectd-action': '1' },
    body: JSON.stringify({ recipe }),
  });
  const answer = await r.json();
  text($(n, '.switch-result'), r.ok ? `now on ${answer.recipe}` : `refused: ${answer.error}`);
  if (r.status === 401) access.refresh();
}

/**
 * How many of the recent parts a proposed threshold would flag, against the recipe's own; where the source
 * knows the truth, how many good parts it would reject and how many defects it would pass. Counted here, on
 * what the page holds: nothing is changed on the line.
 */
function whatIf(card) {
  const n = card.node;
  if (!$(n, '.whatif').open) return;
  const recent = card.recent;
  const current = card.score.th.at(-1);
  const input = $(n, '.proposed');
  if (input.value === '' && current !== undefined) input.value = current.toFixed(3);
  const proposed = Number(input.value);
  if (recent.length === 0 || !Number.isFinite(proposed)) {
    text($(n, '.whatif-result'), recent.length ? 'give a number' : 'no verdicts yet');
    return;
  }
  const flagged = (th) => recent.filter((r) => r.score > th);
  const pct = (k) => `${((100 * k) / recent.length).toFixed(1)} %`;
  const now = flagged(current ?? Infinity).length;
  const then = flagged(proposed);
  let line = `at ${proposed} it would flag ${then.length} of the last ${recent.length} parts (${pct(then.length)}); the recipe's ${fixed(current, 3)} flagged ${now} (${pct(now)}).`;
  const known = recent.filter((r) => r.defective !== undefined);
  if (known.length) {
    const falseRejects = then.filter((r) => r.defective === false).length;
    const escapes = known.filter((r) => r.defective && !(r.score > proposed)).length;
    line += ` Of the parts with known truth: ${falseRejects} good rejected, ${escapes} defective passed.`;
  }
  text($(n, '.whatif-result'), line);
  const sorted = recent.map((r) => r.score).sort((a, b) => a - b);
  const q = (p) => fixed(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))], 3);
  text(
    $(n, '.distribution'),
    `recent scores: median ${q(0.5)}, 90th percentile ${q(0.9)}, 99th ${q(0.99)}, highest ${fixed(sorted.at(-1), 3)}`,
  );
}

/**
 * The proposed threshold made the recipe's, after the operator confirms it: the daemon writes it into the
 * recipe (every camera on it judges by it from the next frame) and into the audit trail.
 */
async function applyThreshold(card, camera) {
  const n = card.node;
  const proposed = Number($(n, '.proposed').value);
  const current = card.score.th.at(-1);
  if ($(n, '.proposed').value === '' || !Number.isFinite(proposed))
    return text($(n, '.apply-result'), 'give a number first');
  if (
    !confirm(
      `Set the threshold of recipe ${card.recipe} from ${fixed(current, 4)} to ${proposed}? Every camera on ${card.recipe} judges by it from its next frame; the change is written into the recipe and the audit trail.`,
    )
  )
    return;
  const r = await fetch(`/api/cameras/${encodeURIComponent(camera)}/threshold`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-inspectd-action': '1' },
    body: JSON.stringify({ threshold: proposed }),
  });
  const answer = await r.json();
  text(
    $(n, '.apply-result'),
    r.ok ? `recipe ${answer.recipe}: threshold now ${answer.after}` : `refused: ${answer.error}`,
  );
  if (r.status === 401) access.refresh();
  await showAudit(card);
}

/** The latest threshold changes of the camera's recipe, from the journal's audit trail. */
async function showAudit(card) {
  if (!$(card.node, '.whatif').open) return;
  const trail = (await getJson('/api/audit'))
    .filter((e) => e.action === 'threshold' && e.recipe === card.recipe)
    .slice(0, 5);
  $(card.node, '.audit').replaceChildren(
    ...trail.map((e) => {
      const li = document.createElement('li');
      li.textContent = `${new Date(e.at).toLocaleString()}: ${fixed(e.before, 4)} → ${e.after} (${e.origin}, camera ${e.camera})`;
      return li;
    }),
  );
}

function showStatus(status) {
  text(document.getElementById('line'), status.line);
  const state = document.getElementById('state');
  const r = status.readiness;
  text(state, r.ready ? 'ready' : `${r.state}: ${r.reasons.join('; ')}`);
  state.className = `state ${r.ready ? 'ready' : r.state === 'degraded' ? 'degraded' : 'down'}`;
  for (const c of status.cameras) {
    const card = cards.get(c.id) ?? makeCard(c);
    card.recipe = c.recipe;
    text(
      $(card.node, '.meta'),
      `${c.recipe} · ${c.source.kind} ${c.source.state} · ${c.provider} · ${c.mode ?? ''}`.replace(
        / · $/,
        '',
      ),
    );
    const n = c.counts;
    text(
      $(card.node, '.counts'),
      `frames ${n.frames} · OK ${n.ok} · NG ${n.ng} · unreadable ${n.badImages} · dropped ${n.dropped} · failed ${n.failed} · queue ${c.queueDepth}`,
    );
  }
}

/** A live verdict: into the charts and the hour's yield, and on the card. */
function showVerdict(v) {
  const card = cards.get(v.cameraId);
  if (!card) return;
  record(card, v);
  const hour = Math.floor(v.decidedAt / 3600000) * 3600;
  const h = card.yield.get(hour) ?? { ok: 0, ng: 0 };
  h[v.ok ? 'ok' : 'ng']++;
  card.yield.set(hour, h);
  display(card, v);
  redraw(card);
  whatIf(card);
}

function record(card, v) {
  card.recent.push({ score: v.score, defective: v.label?.defective });
  if (card.recent.length > KEEP) card.recent.shift();
  const t = v.decidedAt / 1000;
  push(card.score, [t, v.score, v.threshold], ['t', 's', 'th']);
  push(card.latency, [t, v.timings.inferenceMs, v.timings.totalMs], ['t', 'model', 'total']);
}

function display(card, v) {
  const n = card.node;
  const badge = $(n, '.badge');
  text(badge, v.ok ? 'OK' : 'NG');
  badge.className = `badge ${v.ok ? 'ok' : 'ng'}`;
  n.dataset.result = v.resultId;
  text($(n, '.score'), fixed(v.score, 3));
  text($(n, '.threshold'), fixed(v.threshold, 3));
  text($(n, '.normalized'), fixed(v.normalizedScore, 2));
  text($(n, '.regions'), String(v.regions.length));
  text($(n, '.part'), v.partId ?? '–');
  text($(n, '.model-ms'), `${fixed(v.timings.inferenceMs, 1)} ms`);
  picture(card, v.cameraId, v.resultId);
}

function push(store, values, keys) {
  keys.forEach((k, i) => store[k].push(values[i]));
  if (store[keys[0]].length > KEEP) for (const k of keys) store[k].shift();
}

function picture(card, camera, resultId) {
  const wait = card.lastPicture + PICTURE_EVERY_MS - Date.now();
  card.pendingPicture = resultId;
  if (wait > 0) {
    card.pictureTimer ??= setTimeout(() => {
      card.pictureTimer = undefined;
      picture(card, camera, card.pendingPicture);
    }, wait);
    return;
  }
  card.lastPicture = Date.now();
  const id = encodeURIComponent(camera);
  const r = encodeURIComponent(resultId);
  $(card.node, '.frame').src = `/cameras/${id}/latest.png?r=${r}`;
  $(card.node, '.heat').src = `/cameras/${id}/latest-heatmap.png?r=${r}`;
}

function redraw(card) {
  card.scoreChart.setData([card.score.t, card.score.s, card.score.th]);
  card.latencyChart.setData([card.latency.t, card.latency.model, card.latency.total]);
  // Every hour of the last 24 has a slot (0 when empty), so bars keep one width.
  const now = Math.floor(Date.now() / 3600000) * 3600;
  const hours = Array.from({ length: 24 }, (_, i) => now - (23 - i) * 3600);
  const at = (h, k) => card.yield.get(h)?.[k] ?? 0;
  card.yieldChart.setData([hours, hours.map((h) => at(h, 'ok')), hours.map((h) => at(h, 'ng'))]);
}

async function start() {
  // The stream opens first, so nothing decided while the history loads is missed; those verdicts wait.
  const events = new EventSource('/api/events');
  let early = [];
  events.addEventListener('verdict', (e) => {
    const v = JSON.parse(e.data);
    if (early) early.push(v);
    else showVerdict(v);
  });
  events.addEventListener('status', (e) => showStatus(JSON.parse(e.data)));
  events.onerror = () => {
    const state = document.getElementById('state');
    text(state, 'reconnecting…');
    state.className = 'state wait';
  };
  const status = await getJson('/api/status');
  showStatus(status);
  showRecipes(await getJson('/api/recipes'), status);
  const since = Date.now() - 24 * 3600 * 1000;
  const seen = new Set();
  await Promise.all(
    status.cameras.map(async (c) => {
      const card = cards.get(c.id);
      const [results, hourly] = await Promise.all([
        getJson(`/api/results?camera=${encodeURIComponent(c.id)}&limit=${KEEP}`),
        getJson(`/api/yield?camera=${encodeURIComponent(c.id)}&from=${since}`),
      ]);
      card.yield = new Map(hourly.map((h) => [h.hour / 1000, { ok: h.ok, ng: h.ng }]));
      const newestFirst = results.verdicts;
      for (const v of [...newestFirst].reverse()) {
        seen.add(v.resultId);
        record(card, v);
      }
      if (newestFirst[0]) display(card, newestFirst[0]);
      redraw(card);
    }),
  );
  for (const v of early) if (!seen.has(v.resultId)) showVerdict(v);
  early = undefined;
}

start().catch((e) => {
  const state = document.getElementById('state');
  text(state, `cannot load: ${e.message}`);
  state.className = 'state down';
  console.error(e);
});
