import { parseArgs, type ParseArgsConfig } from 'node:util';
import { messageOf, UsageError } from '../core/errors.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../log/logger.js';
import type { SessionOptions } from '../inference/session.js';
import { parseOptions, readFlags, type Flags, type FlagValues } from '../core/flags.js';
import { flagHelp, usageLine } from './flags.js';

export { UsageError };

type Options = NonNullable<ParseArgsConfig['options']>;

/** The problems, then the command's usage: what was wrong and what is right, together. */
export const usageError = (problems: string[], usage: string): UsageError =>
  new UsageError(`${problems.join('\n')}\n\n${usage}`, { fix: 'see the usage above' });

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
    throw usageError([messageOf(e)], usage);
  }
}

/** A command's flags read from argv and typed; anything missing or bad is thrown with the usage. */
export function readCommandFlags<F extends Flags>(
  argv: string[],
  f: F,
  usage: string,
): Partial<FlagValues<F>> {
  const { given, problems } = readFlags(f, parseCommandArgs(argv, parseOptions(f), usage));
  if (problems.length) throw usageError(problems, usage);
  return given;
}

/** A command's usage: the usage line and the flags, from their declaration, around what it does. */
export const commandUsage = (command: string, about: string, f: Flags): string =>
  `${usageLine(command, f)}\n\n${about}\n\n${flagHelp(f)}`;

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
