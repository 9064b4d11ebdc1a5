// The NG review: the journal's verdicts filtered by time, camera, verdict, part and mark (/api/results, newest
// first, a page at a time); one verdict's archived frame and overlay at full resolution with its facts; and
// the operator's mark (false reject, escape) with a note, kept with the verdict by the daemon. A second view of
// the same page (#review, #review/<resultId>): no reloads, the live view keeps running beside it.
'use strict';

(() => {
  /** Verdicts per page of the list. */
  const PAGE = 25;
  const MARK_NAMES = { 'false-reject': 'false reject', escape: 'escape' };

  const byId = (id) => document.getElementById(id);
  const set = (el, s) => {
    if (el.textContent !== s) el.textContent = s;
  };
  const num = (x, d) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');
  const when = (ms) =>
    new Date(ms).toLocaleString(undefined, { hour12: false }) + `.${String(ms % 1000).padStart(3, '0')}`;
  const markText = (m) => (m ? `${MARK_NAMES[m.kind]}${m.note ? `: ${m.note}` : ''}` : '');

  let offset = 0;
  let total = 0;
  let camerasFilled = false;

  async function json(url, init) {
    const r = await fetch(url, { cache: 'no-store', ...init });
    const body = await r.text();
    if (!r.ok) throw new Error(body.startsWith('{') ? JSON.parse(body).error : body.trim());
    return JSON.parse(body);
  }

  /** The list's query from the filter form: only what is given (times in the browser's time zone). */
  function query() {
    const f = new FormData(byId('review-filter'));
    const q = new URLSearchParams();
    for (const k of ['from', 'to']) {
      const v = f.get(k);
      if (v) q.set(k, String(new Date(v).getTime()));
    }
    for (const k of ['camera', 'verdict', 'partId', 'mark']) {
      const v = String(f.get(k) ?? '').trim();
      if (v) q.set(k, v);
    }
    q.set('limit', String(PAGE));
    q.set('offset', String(offset));
    return q.toString();
  }

  async function fillCameras() {
    if (camerasFilled) return;
    const status = await json('/api/status');
    byId('review-filter').camera.replaceChildren(
      new Option('every camera', ''),
      ...status.cameras.map((c) => new Option(c.id, c.id)),
    );
    camerasFilled = true;
  }

  async function showList() {
    await fillCameras();
    const q = query();
    const page = await json(`/api/results?${q}`);
    total = page.total;
    const rows = page.verdicts.map((v) => {
      const tr = document.createElement('tr');
      tr.dataset.result = v.resultId;
      tr.className = v.ok ? 'ok' : 'ng';
      const link = document.createElement('a');
      link.href = `#review/${encodeURIComponent(v.resultId)}`;
      link.textContent = when(v.decidedAt);
      const cells = [
        link,
        v.cameraId,
        v.partId ?? '–',
        v.ok ? 'OK' : 'NG',
        num(v.score, 3),
        num(v.threshold, 3),
        v.recipe,
        markText(v.mark),
      ];
      tr.replaceChildren(
        ...cells.map((c, i) => {
          const td = document.createElement('td');
          td.append(c);
          if (i === 7) td.className = 'mark';
          return td;
        }),
      );
      tr.addEventListener('click', (e) => {
        if (e.target !== link) location.hash = link.hash;
      });
      return tr;
    });
    byId('review-list').tBodies[0].replaceChildren(...rows);
    set(
      byId('review-summary'),
      total === 0
        ? 'no verdicts match'
        : `${offset + 1}–${offset + rows.length} of ${total} verdicts, newest first`,
    );
    byId('review-newer').disabled = offset === 0;
    byId('review-older').disabled = offset + rows.length >= total;
    // What the list now shows: a test waits for this, not for time to pass.
    byId('review-list').dataset.query = q;
  }

  async function showDetail(id) {
    const d = byId('review-detail');
    const { verdict: v, mark, archive } = await json(`/api/results/${encodeURIComponent(id)}`);
    const badge = d.querySelector('.badge');
    badge.textContent = v.ok ? 'OK' : 'NG';
    badge.className = `badge ${v.ok ? 'ok' : 'ng'}`;
    set(d.querySelector('.title'), `${v.cameraId} · ${when(v.decidedAt)}`);
    const facts = [
      ['result', v.resultId],
      ['part', v.partId ?? '–'],
      ['score', num(v.score, 4)],
      ['threshold', num(v.threshold, 4)],
      ['score / threshold', num(v.normalizedScore, 2)],
      ['recipe', `${v.recipe} (model ${v.modelVersion})`],
      ['decided', new Date(v.decidedAt).toISOString()],
      ['captured', new Date(v.capturedAt).toISOString()],
      ['mark', markText(mark) || 'none'],
    ];
    d.querySelector('.facts').replaceChildren(
      ...facts.flatMap(([k, x]) => {
        const dt = document.createElement('dt');
        const dd = document.createElement('dd');
        dt.textContent = k;
        dd.textContent = x;
        if (k === 'mark') dd.className = 'mark';
        return [dt, dd];
      }),
    );
    d.querySelector('.regions').replaceChildren(
      ...(v.regions.length
        ? v.regions.map((r) => {
            const li = document.createElement('li');
            li.textContent = `at ${r.x},${r.y} (recipe input pixels) size ${r.width}×${r.height} (area ${r.area}), peak ${num(r.peak, 3)}`;
            return li;
          })
        : [Object.assign(document.createElement('li'), { textContent: 'none' })]),
    );
    const form = d.querySelector('.mark-form');
    form.querySelector('.for-ng').hidden = v.ok;
    form.querySelector('.for-ok').hidden = !v.ok;
    form.mark.value = mark?.kind ?? '';
    form.note.value = mark?.note ?? '';
    set(form.querySelector('.mark-result'), '');
    const missing = 'missing' in archive;
    set(d.querySelector('.archive-missing'), missing ? `No archived frame: ${archive.missing}.` : '');
    d.querySelector('.pictures').hidden = missing;
    const frame = d.querySelector('img.archived-frame');
    const overlay = d.querySelector('img.archived-overlay');
    if (missing) {
      frame.removeAttribute('src');
      overlay.removeAttribute('src');
    } else {
      frame.src = archive.frame;
      overlay.src = archive.overlay;
    }
    d.dataset.result = v.resultId;
  }

  /** The operator's mark, saved by the daemon with the verdict and in the audit trail. */
  async function saveMark(e) {
    e.preventDefault();
    const d = byId('review-detail');
    const form = e.target;
    const out = form.querySelector('.mark-result');
    const kind = form.mark.value || null;
    try {
      const entry = await json(`/api/results/${encodeURIComponent(d.dataset.result)}/mark`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-inspectd-action': '1' },
        body: JSON.stringify({ mark: kind, note: form.note.value }),
      });
      const m = entry.after ? { kind: entry.after, note: entry.note } : undefined;
      set(d.querySelector('dd.mark'), markText(m) || 'none');
      set(out, entry.after ? `saved: ${MARK_NAMES[entry.after]}` : 'saved: no mark');
    } catch (err) {
      set(out, `refused: ${err.message}`);
    }
  }

  /** #live (or nothing): the cameras; #review: the list; #review/<resultId>: one verdict. */
  function route() {
    const [view, id] = location.hash.replace(/^#/, '').split('/');
    const review = view === 'review';
    byId('cameras').hidden = review;
    byId('review').hidden = !review;
    for (const a of document.querySelectorAll('nav .tab'))
      a.classList.toggle('active', a.dataset.view === (review ? 'review' : 'live'));
    if (!review) return;
    byId('review-detail').hidden = !id;
    for (const el of [byId('review-filter'), byId('review-list'), byId('review-summary')]) el.hidden = !!id;
    document.querySelector('#review .pager').hidden = !!id;
    show(id ? showDetail(decodeURIComponent(id)) : showList());
  }

  /** A failed load says why in the page (a bad filter, a verdict retention removed), and nothing else changes. */
  function show(loading) {
    set(byId('review-error'), '');
    loading.catch((err) => set(byId('review-error'), `cannot load: ${err.message}`));
  }

  byId('review-filter').addEventListener('submit', (e) => {
    e.preventDefault();
    offset = 0;
    show(showList());
  });
  const page = (delta) => () => {
    offset = Math.max(0, Math.min(offset + delta, Math.max(0, total - 1)));
    show(showList());
  };
  byId('review-newer').addEventListener('click', page(-PAGE));
  byId('review-older').addEventListener('click', page(PAGE));
  document.querySelector('#review-detail .mark-form').addEventListener('submit', saveMark);
  // Marking is an operator action: the button follows who may act (access.js).
  access.follow(byId('review-detail'));
  window.addEventListener('hashchange', route);
  route();
})();
