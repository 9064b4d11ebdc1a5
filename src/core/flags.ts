/**
 * Command-line flags, declared as every setting is (core/settings.ts: doc, format, default), plus what only a
 * flag has: a default taken from a configuration setting, "required", and the value's name for the usage.
 * Fit methods (fit/methods.ts) and the commands (cli/) declare their flags with it.
 */
import { formatProblem, parseText, type Check } from './settings.js';

/** A configuration setting a flag takes its default from, by its dotted path: `fit.eps`. */
export type ConfigKey = `${string}.${string}`;

/**
 * A command-line flag, declared as every setting is (src/core/settings.ts: doc, default, format), keyed by its
 * camelCase name: `batchSize` is `--batch-size`.
 */
export interface Flag<T = unknown> {
  doc: string;
  format: Check<T>;
  /** Without one (and without `config`) a flag left out is undefined: the command decides, e.g. "every channel". */
  default?: T;
  /** The default is this configuration setting's value (from --config FILE, else built in). */
  config?: ConfigKey;
  required?: boolean;
  /** The value's name in the usage: FILE, DIR, N. */
  value?: string;
}

export type Flags = Readonly<Record<string, Flag>>;

type ValueOf<F> = F extends { format: Check<infer T> }
  ? F extends { required: true } | { config: ConfigKey }
    ? T
    : F extends { default: infer D }
      ? [D] extends [undefined]
        ? T | undefined
        : T
      : T | undefined
  : never;

/** The values of read flags: undefined only where a flag may be left out and has no default. */
export type FlagValues<F extends Flags> = { -readonly [K in keyof F]: ValueOf<F[K]> };

/** Declares flags, keeping the literal types (`required: true`) their value types come from. */
export const flags = <F extends Flags>(f: F): F => f;

export const flagName = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** `--a, --b`: flags by key, for messages. */
export const flagList = (keys: string[]): string => keys.map((k) => `--${flagName(k)}`).join(', ');

/** The options for `parseArgs`: every flag takes a value but switches (boolean flags). */
export const parseOptions = (f: Flags): Record<string, { type: 'boolean' | 'string' }> =>
  Object.fromEntries(
    Object.entries(f).map(([k, x]) => [
      flagName(k),
      { type: x.format.input === 'boolean' ? ('boolean' as const) : ('string' as const) },
    ]),
  );

/** A bad flag value in the one problem format (`--size: got "big"; allowed: ...; fix: ...`). */
export const flagProblem = (key: string, given: unknown, allowed: string): string =>
  formatProblem({
    path: `--${flagName(key)}`,
    given: JSON.stringify(String(given)),
    allowed,
    fix: `set --${flagName(key)} to ${allowed}`,
  });

/** The flags given on the command line (by flag name in `raw`), typed, and a line for each one missing or bad. */
export function readFlags<F extends Flags>(
  f: F,
  raw: Record<string, string | boolean | undefined>,
): { given: Partial<FlagValues<F>>; problems: string[] } {
  const given: Record<string, unknown> = {};
  const missing = Object.keys(f).filter((k) => f[k].required && raw[flagName(k)] === undefined);
  const problems = missing.length ? [`missing ${flagList(missing)}`] : [];
  for (const [k, x] of Object.entries(f)) {
    const text = raw[flagName(k)];
    if (text === undefined) continue;
    const v = typeof text === 'boolean' ? text : parseText(x.format, text);
    if (x.format.ok(v)) given[k] = v;
    else problems.push(flagProblem(k, text, x.format.allowed));
  }
  return { given: given as Partial<FlagValues<F>>, problems };
}

/** Every flag's value: as given, else its configuration setting's (read from `config`), else its default. */
export function withDefaults<F extends Flags>(
  f: F,
  given: Partial<FlagValues<F>>,
  config?: object,
): FlagValues<F> {
  const fromConfig = (key: ConfigKey): unknown => {
    if (!config) throw new Error(`flag default ${key} needs the configuration`);
    const v = key
      .split('.')
      .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], config);
    if (v === undefined) throw new Error(`flag default ${key} is no configuration setting`);
    return v;
  };
  const values = given as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(f).map(([k, x]) => [k, values[k] ?? (x.config ? fromConfig(x.config) : x.default)]),
  ) as FlagValues<F>;
}
