import { existsSync } from 'node:fs';
import convict from 'convict';
import { ConfigError, messageOf } from '../core/errors.js';
import { cameraReference, validateCameras } from './cameras.js';
import { schema, type Config } from './schema.js';

export interface ConfigProblem {
  key: string;
  message: string;
}

/** The environment variable that sets `key`, if the schema declares one. */
function envVarOf(key: string): string | undefined {
  let node: unknown = schema;
  for (const part of key.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  return (node as { env?: string } | undefined)?.env;
}

/** Splits convict's one-string error into one problem per line, keyed by setting. */
function parseProblems(text: string, env: NodeJS.ProcessEnv): ConfigProblem[] {
  return (
    text
      // The camera format reports one problem per line; convict prefixes the first with "cameras: ".
      .replace(/^cameras: (?=cameras\[)/m, '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((line) => {
        const undeclared = /^configuration param '([^']+)' not declared in the schema/.exec(line);
        if (undeclared)
          return {
            key: undeclared[1],
            message: 'unknown setting (typo?) — see docs/CONFIG.md for the settings there are',
          };
        const m = /^([\w.[\]]+): (.*)$/.exec(line);
        if (!m) return { key: '(file)', message: line };
        const envVar = envVarOf(m[1]);
        const fromEnv = envVar && env[envVar] !== undefined ? ` (set by environment variable ${envVar})` : '';
        return { key: m[1], message: `${m[2]}${fromEnv}` };
      })
  );
}

/**
 * Loads the defaults, then `file` (if given), then environment variables, and validates strictly:
 * unknown keys are errors. Every problem is reported at once, never just the first.
 */
export function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env): Config {
  const c = convict<Config>(schema, { env });
  if (file) {
    if (!existsSync(file)) {
      throw new ConfigError(`configuration file ${file} does not exist`, {
        subject: file,
        fix: 'pass an existing JSON file (see config/default.json)',
      });
    }
    try {
      c.loadFile(file);
    } catch (e) {
      throw new ConfigError(`configuration file ${file} is not valid JSON: ${messageOf(e)}`, {
        subject: file,
        fix: 'fix the JSON syntax at the position given',
      });
    }
  }
  try {
    c.validate({ allowed: 'strict' });
  } catch (e) {
    const problems = parseProblems(messageOf(e), env);
    throw new ConfigError(
      `configuration ${file ?? '(defaults + environment)'} has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p.key}: ${p.message}`).join('\n')}`,
      {
        subject: file,
        value: problems,
        fix: 'correct each setting listed; `inspectd check-config FILE` re-checks',
      },
    );
  }
  const config = c.getProperties();
  // Defaults of camera items are filled by their own specs (convict does not go inside list items).
  config.cameras = validateCameras(config.cameras, []);
  return config;
}

/** Markdown reference of every setting, generated from the schema so docs cannot drift from code. */
export function configReference(): string {
  const rows: string[] = ['| key | default | env | description |', '|---|---|---|---|'];
  const walk = (node: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(node)) {
      const s = v as { doc?: string; default?: unknown; env?: string };
      if (s && typeof s === 'object' && 'doc' in s && 'default' in s) {
        rows.push(
          `| \`${prefix}${k}\` | \`${JSON.stringify(s.default)}\` | ${s.env ? `\`${s.env}\`` : ''} | ${s.doc} |`,
        );
      } else walk(v as Record<string, unknown>, `${prefix}${k}.`);
    }
  };
  walk(schema as unknown as Record<string, unknown>, '');
  rows.push(...cameraReference());
  return `# Configuration reference\n\nGenerated from \`src/config/schema.ts\` by \`inspectd config-doc\`; do not edit by hand.\n\n${rows.join('\n')}\n`;
}
