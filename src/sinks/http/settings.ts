import { port, text } from '../../core/settings.js';

/** The `http` section of the configuration. */
export const httpSettings = {
  host: {
    doc: 'Health, metrics, status page and API: listen address.',
    format: text(),
    default: '127.0.0.1',
    env: 'INSPECTD_HTTP_HOST',
  },
  port: {
    doc: 'Health, metrics, status page and API: port (0 = any free port, logged).',
    format: port(),
    default: 8080,
    env: 'INSPECTD_HTTP_PORT',
  },
};
