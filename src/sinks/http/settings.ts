import { bool, int, port, seconds, text } from '../../core/settings.js';

/** The `http` section of the configuration. */
export const httpSettings = {
  host: {
    doc: 'Health, metrics, web UI and API: listen address. Another address than 127.0.0.1 makes the UI reachable from other hosts: they may read; operator actions from them need a login (usersFile).',
    format: text(),
    default: '127.0.0.1',
    env: 'INSPECTD_HTTP_HOST',
  },
  port: {
    doc: 'Health, metrics, web UI and API: port (0 = any free port, logged).',
    format: port(),
    default: 8080,
    env: 'INSPECTD_HTTP_PORT',
  },
  maxLiveViews: {
    doc: 'Web UI: live views (event streams) open at once, at most; one more is refused with 503. A view that stops reading is dropped.',
    format: int(1, 1000),
    default: 16,
  },
  usersFile: {
    doc: 'Web UI logins: file of users, one "name:scrypt$..." line each, made with `inspectd hash-password NAME` (the format of opcua.usersFile; one file may serve both); under systemd $CREDENTIALS_DIRECTORY/http-users. Empty: no logins, operator actions only from this box.',
    format: text(),
    default: '',
    env: 'INSPECTD_HTTP_USERS_FILE',
  },
  localActionsWithoutLogin: {
    doc: 'Web UI: operator actions from this box (a loopback peer) without a login, as on the line PC. Set false when a reverse proxy on this box serves the UI to other hosts: their requests then arrive from loopback too.',
    format: bool(),
    default: true,
  },
  sessionIdleSec: {
    doc: 'Web UI: a login ends after this long without a request from its browser (8 h: a shift). A restart of inspectd ends every login.',
    format: seconds(60, 7 * 24 * 3600),
    default: 8 * 3600,
  },
};
