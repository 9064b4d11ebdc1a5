import { existsSync, readFileSync } from 'node:fs';
import convict from 'convict';
import { ConfigError, messageOf } from '../core/errors.js';
import {
  formatProblem,
  isRenamed,
  isSetting,
  migrateSettings,
  parseText,
  referenceRows,
  renamedRows,
  validateSettings,
  type Group,
  type SettingProblem,
  type TextInput,
} from '../core/settings.js';
import { sourceKinds } from '../sources/index.js';
import { schema, type Config } from './schema.js';

// convict merges the layers (defaults < file < environment) and turns environment text into typed values;
// the one validation pass (core/settings.ts) then checks the merged result and lists every problem.
const INPUTS: TextInput[] = ['number', 'boolean', 'string', 'list'];
for (const input of INPUTS)
  convict.addFormat({
    name: `inspectd-${input}`,
    validate: () => {},
    coerce: (text: string) => parseText({ input, allowed: '', ok: () => true }, text),
  });

/** The declaration as a convict schema: same doc, default and env; validation is ours. */
function convictSchema(group: Group): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, node] of Object.entries(group)) {
    if (isRenamed(node)) continue;
    if (!isSetting(node)) out[k] = convictSchema(node as Group);
    else
      out[k] = {
        doc: node.doc,
        default: node.default ?? null,
        format: `inspectd-${node.format.input}`,
        env: node.env,
        sensitive: node.sensitive,
      };
  }
  return out;
}

/** env var name by setting path, for problems that come from the environment. */
function envVars(group: Group, prefix = '', out = new Map<string, string>()): Map<string, string> {
  for (const [k, node] of Object.entries(group)) {
    if (isSetting(node)) {
      if (node.env) out.set(`${prefix}${k}`, node.env);
    } else if (!isRenamed(node)) envVars(node as Group, `${prefix}${k}.`, out);
  }
  return out;
}

/**
 * A copy of `raw` without objects where the declaration has a plain setting: convict's merge descends into
 * them and fails on a second level of nesting. They are set aside and put back after the merge, for the
 * validation to report.
 */
function withoutObjectsAtLeaves(
  group: Group,
  raw: Record<string, unknown>,
  at: string[],
  setAside: [string[], unknown][],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const node = group[k];
    const isObj = typeof v === 'object' && v !== null && !Array.isArray(v);
    if (node && isSetting(node) && isObj) setAside.push([[...at, k], v]);
    else if (node && !isSetting(node) && !isRenamed(node) && isObj)
      out[k] = withoutObjectsAtLeaves(node as Group, v as Record<string, unknown>, [...at, k], setAside);
    else out[k] = v;
  }
  return out;
}

function putAt(obj: Record<string, unknown>, path: string[], v: unknown): void {
  let o = obj;
  for (const p of path.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
  o[path.at(-1)!] = v;
}

export interface LoadedConfig {
  config: Config;
  /** Renamed settings that were accepted under their old names. */
  warnings: string[];
}

/**
 * Loads the defaults, then `file` (if given), then environment variables, and validates strictly: unknown
 * keys are errors. Every problem is reported at once, never just the first.
 */
export function readConfig(file?: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const raw = file ? readJson(file) : {};
  const warnings: string[] = [];
  const problems: SettingProblem[] = [];
  migrateSettings(schema, raw, '', warnings, problems);
  const vars = envVars(schema);
  const c = convict(convictSchema(schema) as convict.Schema<Record<string, unknown>>, { env, args: [] });
  const setAside: [string[], unknown][] = [];
  c.load(withoutObjectsAtLeaves(schema, raw, [], setAside));
  const merged = c.getProperties() as Record<string, unknown>;
  for (const [path, v] of setAside) {
    const name = vars.get(path.join('.'));
    if (name === undefined || env[name] === undefined) putAt(merged, path, v);
  }
  const value = validateSettings(schema, merged, '', problems, {
    from: (path) => {
      const name = vars.get(path);
      return name !== undefined && env[name] !== undefined
        ? { text: env[name], what: `environment variable ${name}` }
        : undefined;
    },
  });
  if (problems.length)
    throw new ConfigError(
      `configuration ${file ?? '(defaults + environment)'} has ${problems.length} problem(s):\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`,
      {
        subject: file,
        value: problems,
        fix: 'correct each setting listed; `inspectd check-config FILE` re-checks',
      },
    );
  for (const cam of value.cameras)
    if (cam.queue.policy === 'auto') cam.queue.policy = sourceKinds[cam.source.type].defaultDropPolicy;
  return { config: value as Config, warnings };
}

/** readConfig without the warnings (tools that log them elsewhere, tests). */
export const loadConfig = (file?: string, env: NodeJS.ProcessEnv = process.env): Config =>
  readConfig(file, env).config;

function readJson(file: string): Record<string, unknown> {
  if (!existsSync(file))
    throw new ConfigError(`configuration file ${file} does not exist`, {
      subject: file,
      fix: 'pass an existing JSON file (see config/default.json)',
    });
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`configuration file ${file} is not valid JSON: ${messageOf(e)}`, {
      subject: file,
      fix: 'fix the JSON syntax at the position given',
    });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ConfigError(`configuration file ${file} is not a JSON object`, {
      subject: file,
      fix: 'the file must hold one object { ... } of settings (see config/default.json)',
    });
  return v as Record<string, unknown>;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** Markdown reference of every setting, generated from the schema so docs cannot drift from code. */
export function configReference(): string {
  const rows = referenceRows(schema).map((r) =>
    r.allowed === ''
      ? `| \`${r.key}\` | | | | |`
      : `| \`${r.key}\` | ${r.default === undefined ? '(required)' : `\`${JSON.stringify(r.default)}\``} | ${cell(r.allowed)} | ${r.env ? `\`${r.env}\`` : ''} | ${cell(r.doc)} |`,
  );
  const renamed = renamedRows(schema).map(
    (r) => `| \`${r.from}\` | \`${r.to}\` | ${r.note ? cell(r.note) : ''} |`,
  );
  return [
    '# Configuration reference',
    '',
    'Generated from the settings declarations (`src/config/schema.ts`, each source kind in `src/sources/*/settings.ts`,',
    'each sink kind in `src/sinks/*/settings.ts`) by `inspectd config-doc`; do not edit by hand. Durations are in',
    'seconds (fractions allowed) and end in `Sec`.',
    '',
    '| key | default | allowed | env | description |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    '## Renamed settings',
    '',
    'Accepted under their old names until the next release, with a warning at start and in `check-config`.',
    '',
    '| old name | new name | note |',
    '|---|---|---|',
    ...renamed,
    '',
  ].join('\n');
}
