import { parseArgs, type ParseArgsConfig } from 'node:util';
import { messageOf, UsageError } from '../core/errors.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../log/logger.js';
import type { SessionOptions } from '../inference/session.js';

export { UsageError };

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with errors a user can act on (the command's usage is printed with them). */
export function parseCommandArgs(
  argv: string[],
  options: Options,
  usage: string,
): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (e) {
    throw new UsageError(`${messageOf(e)}\n\n${usage}`, { fix: 'see the usage above' });
  }
}

export function requireOptions(values: Record<string, unknown>, names: string[], usage: string): void {
  const missing = names.filter((n) => values[n] === undefined);
  if (missing.length) throw new UsageError(`missing ${missing.map((m) => `--${m}`).join(', ')}\n\n${usage}`);
}

export function numberOption(
  values: Record<string, unknown>,
  name: string,
  fallback: number,
  check: (n: number) => boolean,
  allowed: string,
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || !check(n))
    throw new UsageError(`--${name} ${String(raw)} is not valid: ${allowed}`);
  return n;
}

/** An integer option in [min, max], `fallback` when absent. */
export const intOption = (
  values: Record<string, unknown>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number =>
  numberOption(
    values,
    name,
    fallback,
    (n) => Number.isInteger(n) && n >= min && n <= max,
    `an integer from ${min} to ${max}`,
  );

/** Config (file + env) and a stderr logger: CLI commands keep stdout for their report. */
export function commandContext(configFile: string | undefined): {
  config: Config;
  log: Logger;
  session: SessionOptions;
} {
  const config = loadConfig(configFile);
  const pretty = config.log.pretty === 'auto' ? undefined : config.log.pretty === 'always';
  const log = createLogger({ level: config.log.level, fd: 2, pretty });
  return {
    config,
    log,
    session: { providers: config.inference.providers, threads: config.inference.threads },
  };
}
