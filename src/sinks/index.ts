import type { Infer } from '../core/settings.js';
import { usersFileProblems } from '../core/users.js';
import { archiveSettings } from './archive/settings.js';
import { httpSettings } from './http/settings.js';
import { mqttSettings } from './mqtt/settings.js';
import { opcuaSettings } from './opcua/settings.js';
import type { SinkKind } from './types.js';

// Each row: the kind's settings (a section of the configuration under the kind's name) and a factory that
// imports the implementation only when the sink is enabled.

const mqtt: SinkKind<typeof mqttSettings> = {
  settings: mqttSettings,
  enabled: () => true,
  owns: /[\\/]((?:src|dist)[\\/]sinks[\\/]mqtt|node_modules[\\/](mqtt|mqtt-packet|aedes[\w-]*))[\\/]/,
  create: async (ctx) => new (await import('./mqtt/mqttSink.js')).MqttSink(ctx),
};

const archive: SinkKind<typeof archiveSettings> = {
  settings: archiveSettings,
  enabled: (s) => s.dir !== '',
  owns: /[\\/](?:src|dist)[\\/]sinks[\\/]archive[\\/]/,
  create: async (ctx) => new (await import('./archive/archiveSink.js')).ArchiveSink(ctx),
};

const opcua: SinkKind<typeof opcuaSettings> = {
  settings: opcuaSettings,
  enabled: (s) => s.enabled,
  preflight: (s) => (s.usersFile ? usersFileProblems(s.usersFile, 'opcua.usersFile', false) : []),
  owns: /[\\/]((?:src|dist)[\\/]sinks[\\/]opcua|node_modules[\\/]node-opcua[\w-]*)[\\/]/,
  create: async (ctx) => new (await import('./opcua/opcuaSink.js')).OpcuaSink(ctx),
};

const http: SinkKind<typeof httpSettings> = {
  settings: httpSettings,
  enabled: () => true,
  // A users file named is one meant to be used: unreadable, malformed or empty, the daemon does not start.
  preflight: (s) => (s.usersFile ? usersFileProblems(s.usersFile, 'http.usersFile', true) : []),
  owns: /[\\/](?:src|dist)[\\/]sinks[\\/]http[\\/]/,
  create: async (ctx) => new (await import('./http/httpSink.js')).HttpSink(ctx),
};

/** Every sink kind, in start order (explicit registration, no discovery); stopped in reverse. */
export const sinkKinds = { mqtt, archive, opcua, http };

export type SinkName = keyof typeof sinkKinds;

/** The configuration sections of every sink, mounted at the top of the schema under their names. */
export const sinkSettings = Object.fromEntries(
  Object.entries(sinkKinds).map(([k, v]) => [k, v.settings]),
) as {
  [K in SinkName]: (typeof sinkKinds)[K]['settings'];
};

export type SinkSettings = { [K in SinkName]: Infer<(typeof sinkSettings)[K]> };
