import { bool, int, name, port, retired, seconds, text } from '../../core/settings.js';

/** The `mqtt` section of the configuration. */
export const mqttSettings = {
  url: {
    doc: 'Broker URL (mqtt://, mqtts://, ws://). Empty: start an embedded broker on mqtt.embedded.host:port.',
    format: text(),
    default: '',
    env: 'INSPECTD_MQTT_URL',
  },
  prefix: {
    doc: 'First topic level of everything inspectd publishes.',
    format: name(),
    default: 'inspectd',
    env: 'INSPECTD_MQTT_PREFIX',
  },
  clientId: { doc: 'MQTT client id; empty = inspectd-<line>-<pid>.', format: text(), default: '' },
  username: { doc: 'Broker user name.', format: text(), default: '', env: 'INSPECTD_MQTT_USERNAME' },
  password: {
    doc: 'Broker password (prefer passwordFile).',
    format: text(),
    default: '',
    sensitive: true,
    env: 'INSPECTD_MQTT_PASSWORD',
  },
  passwordFile: {
    doc: 'File holding the broker password, e.g. $CREDENTIALS_DIRECTORY/mqtt-password under systemd.',
    format: text(),
    default: '',
    env: 'INSPECTD_MQTT_PASSWORD_FILE',
  },
  tls: {
    ca: { doc: 'CA certificate file (PEM) to verify the broker.', format: text(), default: '' },
    cert: { doc: 'Client certificate file (PEM) for mutual TLS.', format: text(), default: '' },
    key: {
      doc: 'Client key file (PEM) for mutual TLS.',
      format: text(),
      default: '',
      env: 'INSPECTD_MQTT_TLS_KEY',
    },
    rejectUnauthorized: {
      doc: 'Refuse brokers whose certificate does not verify.',
      format: bool(),
      default: true,
    },
  },
  statsIntervalSec: {
    doc: 'Seconds between <prefix>/stats messages; 0 = none.',
    format: seconds(0, 86400),
    default: 30,
  },
  maxInflight: {
    doc: 'Verdicts sent to the broker and not yet acknowledged, at most; the rest wait in the journal, in order, however long the broker is away.',
    format: int(1, 65535),
    default: 100,
  },
  maxQueued: retired('verdicts wait in the journal while the broker is away; journal.* bounds it'),
  embedded: {
    host: {
      doc: 'Embedded broker: listen address (localhost only by default).',
      format: text(),
      default: '127.0.0.1',
    },
    port: {
      doc: 'Embedded broker: port.',
      format: port(),
      default: 1883,
      env: 'INSPECTD_MQTT_EMBEDDED_PORT',
    },
  },
};
