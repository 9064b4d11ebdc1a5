// Who may act, from /api/session: the header says it (and offers a login where actions need one), and every
// operator-action button follows it, disabled with the reason beside it. Reading needs no login.
'use strict';

// app.js (a classic script, sharing this global scope) calls it.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
const access = (() => {
  let state = { canAct: false, user: null, logins: false, why: 'checking who may act…' };
  const cards = new Set();
  const el = (sel) => document.querySelector(`#access ${sel}`);

  /** The header and every card's action buttons, from `state`. */
  function paint() {
    const { canAct, user, logins, why } = state;
    el('.who').textContent = user
      ? `logged in as ${user}`
      : canAct
        ? 'operator actions: this box'
        : logins
          ? 'read-only: log in for operator actions'
          : 'read-only';
    el('.who').title = why ?? '';
    el('.login').hidden = canAct || !logins;
    el('.logout').hidden = !user;
    for (const node of cards) {
      for (const b of node.querySelectorAll('.operator-action')) {
        b.disabled = !canAct;
        b.title = canAct ? '' : why;
      }
      for (const w of node.querySelectorAll('.action-why')) w.textContent = canAct ? '' : `(${why})`;
    }
  }

  async function refresh() {
    const r = await fetch('/api/session', { cache: 'no-store' });
    state = r.ok ? await r.json() : { canAct: false, user: null, logins: false, why: `${r.status}` };
    paint();
  }

  /** POST with the action header every state change needs (the daemon refuses one without it). */
  const post = (url, body) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-inspectd-action': '1' },
      body: JSON.stringify(body),
    });

  async function login(form) {
    const result = el('.login-result');
    result.textContent = 'checking…';
    const r = await post('/api/login', { user: form.user.value, password: form.password.value });
    const answer = await r.json();
    form.password.value = '';
    result.textContent = r.ok ? '' : answer.error;
    await refresh();
  }

  async function logout() {
    await post('/api/logout', {});
    await refresh();
  }

  function start() {
    el('.login').addEventListener('submit', (e) => {
      e.preventDefault();
      login(e.target).catch((err) => (el('.login-result').textContent = err.message));
    });
    el('.logout').addEventListener('click', () =>
      logout().catch((err) => (el('.login-result').textContent = err.message)),
    );
    refresh().catch((err) => (el('.who').textContent = `cannot tell who may act: ${err.message}`));
  }

  start();
  return {
    /** Makes the operator-action buttons of `node` (a camera card) follow who may act. */
    follow(node) {
      cards.add(node);
      paint();
    },
    /** Asks again, e.g. after an action was refused because the login ended. */
    refresh: () => refresh().catch(() => {}),
  };
})();
