import { int, port, text } from '../../core/settings.js';

/** The `http` section of the configuration. */
export const httpSettings = {
  host: {
    doc: 'Health, metrics, web UI and API: listen address.',
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
};
