/**
 * The one way inspectd declares a setting, wherever it lives (the root schema, a source kind, a sink kind, a
 * fit method's flags): `{ doc, default, format, env?, sensitive? }`, the shape of a convict schema node, with
 * `format` a Check that says in words what is allowed. One validation pass (`validateSettings`) walks a
 * declaration and a value together, fills defaults (inside lists too), and reports every problem at once as
 * data: path, value, what is allowed, the fix. Renamed settings are declared with `renamed()` and migrated with
 * a warning (`migrateSettings`). Types come from the declaration (`Infer`), so no setting is declared twice.
 */

/** How text from an environment variable or a command-line flag becomes a value of this check's type. */
export type TextInput = 'number' | 'boolean' | 'string' | 'list';

export interface Check<T> {
  /** What is allowed, in words that finish "must be ...": "an integer from 1 to 256". */
  readonly allowed: string;
  readonly input: TextInput;
  ok(v: unknown): boolean;
  /** A list of objects, each declared by this group. */
  readonly items?: { group: Group; unique?: string; what: string };
  /** An object whose `type` picks the group that declares its other keys. */
  readonly kinds?: Record<string, Group>;
  /** Never used: carries T for `Infer`. */
  readonly _type?: T;
}

export interface Setting<T> {
  doc: string;
  default: T;
  format: Check<T>;
  /** Environment variable that overrides it. */
  env?: string;
  /** Never logged or echoed in a problem. */
  sensitive?: boolean;
  /** How a sensitive value may be shown in a problem (e.g. a URL with its credentials masked). */
  show?: (v: unknown) => string;
}

/**
 * An old name still accepted (for one release) with a warning: its value moves to the sibling `renamedTo`,
 * converted; without `renamedTo` the setting is retired, its value ignored.
 */
export interface Renamed {
  renamedTo?: string;
  convert?: (v: unknown) => unknown;
  /** What changed besides the name, e.g. "in seconds, not milliseconds". */
  note?: string;
}

export interface Group {
  [key: string]: Setting<unknown> | Group | Renamed;
}

/** The value type a declaration describes. */
export type Infer<G> = {
  -readonly [K in keyof G as G[K] extends Renamed ? never : K]: G[K] extends { format: Check<infer T> }
    ? T
    : G[K] extends Group
      ? Infer<G[K]>
      : never;
};

/** The default of a setting that has none: it must be given (the reference says "(required)"). */
export const required = <T>(): T => undefined as T;

export const isSetting = (n: unknown): n is Setting<unknown> =>
  typeof n === 'object' && n !== null && 'format' in n && 'default' in n && 'doc' in n;
export const isRenamed = (n: unknown): n is Renamed =>
  typeof n === 'object' && n !== null && 'renamedTo' in n && 'note' in n;

// ---------------------------------------------------------------- checks

const check = <T>(allowed: string, input: TextInput, ok: (v: unknown) => boolean): Check<T> => ({
  allowed,
  input,
  ok,
});

const range = (min: number, max: number): string =>
  max === Infinity ? `>= ${min}` : `from ${min} to ${max}`;

export const int = (min: number, max = Infinity): Check<number> =>
  check(
    `an integer ${range(min, max)}`,
    'number',
    (v) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max,
  );

/** A number in [min, max]; with `above`, min itself is excluded. */
export const num = (min: number, max = Infinity, above = false): Check<number> =>
  check(
    above ? `a number > ${min}${max === Infinity ? '' : ` and <= ${max}`}` : `a number ${range(min, max)}`,
    'number',
    (v) => typeof v === 'number' && (above ? v > min : v >= min) && v <= max,
  );

/** A duration in seconds (fractions allowed): every duration setting uses this unit and ends in `Sec`. */
export const seconds = (min: number, max: number): Check<number> =>
  check(
    `a number of seconds ${range(min, max)}`,
    'number',
    (v) => typeof v === 'number' && v >= min && v <= max,
  );

export const port = (): Check<number> => int(0, 65535);

export const bool = (): Check<boolean> => check('true or false', 'boolean', (v) => typeof v === 'boolean');

/** Any text, '' included. */
export const text = (): Check<string> => check('a string', 'string', (v) => typeof v === 'string');

export const nonEmpty = (what = 'a non-empty string'): Check<string> =>
  check(what, 'string', (v) => typeof v === 'string' && v.length > 0);

/** Text matching `re`, described by `allowed` (an example helps: "a path like /inspectd"). */
export const matching = (re: RegExp, allowed: string): Check<string> =>
  check(allowed, 'string', (v) => typeof v === 'string' && re.test(v));

/** Names that become MQTT topic levels, OPC UA browse names and folder names: no / + # or spaces. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const name = (): Check<string> =>
  matching(NAME, '1-64 letters, digits, _ . - (starting with a letter or digit; no / + # or spaces)');

export const oneOf = <const V extends string>(values: readonly V[]): Check<V> =>
  check(`one of ${values.join(', ')}`, 'string', (v) => values.includes(v as V));

/** A non-empty list drawn from `values` (comma-separated in an environment variable). */
export const listOf = <const V extends string>(values: readonly V[]): Check<V[]> =>
  check(
    `a non-empty list drawn from ${values.join(', ')}`,
    'list',
    (v) => Array.isArray(v) && v.length > 0 && v.every((x) => values.includes(x as V)),
  );

export const strings = (allowed = 'a list of strings'): Check<string[]> =>
  check(allowed, 'list', (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'));

export const ipv4OrEmpty = (): Check<string> =>
  check(
    'an IPv4 address like 192.168.10.20, or "" (not set)',
    'string',
    (v) =>
      v === '' ||
      (typeof v === 'string' &&
        /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(v) &&
        v.split('.').every((p) => Number(p) <= 255)),
  );

/** An object of name -> string | number | boolean (e.g. camera features to set). */
export const valueMap = (): Check<Record<string, string | number | boolean>> =>
  check(
    'an object of name: value (string, number or true/false)',
    'string',
    (v) =>
      v !== null &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      Object.values(v).every((x) => ['string', 'number', 'boolean'].includes(typeof x)),
  );

/** Any check with its own test (`ok`) and wording. */
export const custom = <T>(allowed: string, input: TextInput, ok: (v: unknown) => boolean): Check<T> =>
  check(allowed, input, ok);

/** A list of objects declared by `group`; `unique` names a key no two items may share. */
export const items = <G extends Group>(
  group: G,
  what: string,
  unique?: keyof G & string,
): Check<Infer<G>[]> => ({
  ...check<Infer<G>[]>(`a list of ${what}s`, 'list', Array.isArray),
  items: { group, unique, what },
});

/** The value of a `kinds` setting once validated: the kind and its own settings. */
export interface KindValue<O = Record<string, unknown>> {
  type: string;
  options: O;
}

/** An object `{type, ...settings}`: `type` is a key of `table`, whose group declares the other keys. */
export const kinds = (table: Record<string, Group>): Check<KindValue> => ({
  ...check<KindValue>(
    `an object with "type": one of ${Object.keys(table).join(', ')}`,
    'string',
    (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  ),
  kinds: table,
});

export const renamed = (renamedTo: string, convert?: (v: unknown) => unknown, note?: string): Renamed => ({
  renamedTo,
  convert,
  note,
});

/** A setting no longer used: accepted (ignored) with a warning that says why, for one release. */
export const retired = (note: string): Renamed => ({ renamedTo: undefined, note });

/** For `renamed`: an old millisecond setting whose new name is in seconds. */
export const msToSec = (v: unknown): unknown => (typeof v === 'number' ? v / 1000 : v);

/** Text (an environment variable, a command-line flag) as a value of the check's type; unparseable text is
 * returned as it is, so the problem shows what was given. */
export function parseText(c: Check<unknown>, s: string): unknown {
  switch (c.input) {
    case 'number': {
      const n = Number(s);
      return s.trim() !== '' && Number.isFinite(n) ? n : s;
    }
    case 'boolean': {
      const t = s.trim().toLowerCase();
      return ['true', '1', 'yes', 'on'].includes(t)
        ? true
        : ['false', '0', 'no', 'off'].includes(t)
          ? false
          : s;
    }
    case 'list':
      return s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
    default:
      return s;
  }
}

// ---------------------------------------------------------------- problems

export interface SettingProblem {
  /** Where: `cameras[1].source.fps`. */
  path: string;
  /** What was given, ready to print (sensitive values hidden). */
  given: string;
  /** What is allowed, in words. */
  allowed: string;
  fix: string;
  /** Where the value came from when not the file: "environment variable INSPECTD_THREADS". */
  from?: string;
}

/** One line per problem, the same everywhere (config files, environment, command-line flags). */
export function formatProblem(p: SettingProblem): string {
  const from = p.from ? ` (from ${p.from})` : '';
  return `${p.path}: got ${p.given}${from}; allowed: ${p.allowed}; fix: ${p.fix}`;
}

const show = (v: unknown, sensitive?: boolean): string => {
  if (sensitive) return '(hidden)';
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const clone = <T>(v: T): T => (v === undefined ? v : (structuredClone(v) as T));

export interface ValidateOptions {
  /** Where a value came from when it was not the file (an environment variable), by path. */
  from?: (path: string) => { text: string; what: string } | undefined;
}

/**
 * Checks `value` against `group`: defaults filled in (also in list items), every problem collected. Returns the
 * normalized value; it is complete only when `problems` stayed empty.
 */
export function validateSettings<G extends Group>(
  group: G,
  value: unknown,
  path: string,
  problems: SettingProblem[],
  opts: ValidateOptions = {},
): Infer<G> {
  const at = (k: string): string => (path ? `${path}.${k}` : k);
  const obj = isObject(value) ? value : {};
  if (value !== undefined && !isObject(value))
    problems.push({
      path: path || '(top level)',
      given: show(value),
      allowed: 'an object of settings',
      fix: `make ${path || 'the file'} an object { ... }`,
    });
  const out: Record<string, unknown> = {};
  for (const [k, node] of Object.entries(group)) {
    if (isRenamed(node)) continue;
    if (!isSetting(node)) {
      out[k] = validateSettings(node as Group, obj[k], at(k), problems, opts);
      continue;
    }
    const v = obj[k] === undefined ? clone(node.default) : obj[k];
    out[k] = validateValue(node, v, at(k), problems, opts);
  }
  for (const k of Object.keys(obj)) {
    const node = group[k];
    if (node === undefined)
      problems.push({
        path: at(k),
        given: show(obj[k], true),
        allowed: 'no setting of this name',
        fix: `remove it or correct the name; known here: ${known(group).join(', ')}`,
      });
  }
  return out as Infer<G>;
}

const known = (group: Group): string[] => Object.keys(group).filter((k) => !isRenamed(group[k]));

function validateValue(
  node: Setting<unknown>,
  v: unknown,
  path: string,
  problems: SettingProblem[],
  opts: ValidateOptions,
): unknown {
  const c = node.format;
  if (!c.ok(v)) {
    const from = opts.from?.(path);
    problems.push({
      path,
      given:
        node.sensitive && node.show
          ? node.show(from ? from.text : v)
          : show(from ? from.text : v, node.sensitive),
      allowed: c.allowed,
      fix: from ? `correct ${from.what} (or unset it)` : `set ${path} to ${c.allowed}`,
      from: from?.what,
    });
    return v;
  }
  if (c.items) return validateItems(c.items, v as unknown[], path, problems, opts);
  if (c.kinds) return validateKind(c.kinds, v as Record<string, unknown>, path, problems, opts);
  return v;
}

function validateItems(
  spec: NonNullable<Check<unknown>['items']>,
  list: unknown[],
  path: string,
  problems: SettingProblem[],
  opts: ValidateOptions,
): unknown[] {
  const seen = new Map<unknown, number>();
  return list.map((item, i) => {
    const at = `${path}[${i}]`;
    const u = spec.unique;
    if (u && isObject(item) && item[u] !== undefined) {
      const first = seen.get(item[u]);
      if (first !== undefined)
        problems.push({
          path: `${at}.${u}`,
          given: show(item[u]),
          allowed: `${u} not used by another ${spec.what} (${path}[${first}] has it)`,
          fix: `give each ${spec.what} its own ${u}`,
        });
      else seen.set(item[u], i);
    }
    return validateSettings(spec.group, item ?? null, at, problems, opts);
  });
}

function validateKind(
  table: Record<string, Group>,
  v: Record<string, unknown>,
  path: string,
  problems: SettingProblem[],
  opts: ValidateOptions,
): KindValue {
  const { type, ...rest } = v;
  const group = typeof type === 'string' && Object.hasOwn(table, type) ? table[type] : undefined;
  if (!group) {
    problems.push({
      path: `${path}.type`,
      given: show(type),
      allowed: `one of ${Object.keys(table).join(', ')}`,
      fix: `set ${path}.type to one of ${Object.keys(table).join(', ')}`,
    });
    return { type: String(type), options: rest };
  }
  return { type: type as string, options: validateSettings(group, rest, path, problems, opts) };
}

// ---------------------------------------------------------------- renamed settings

/**
 * Moves values given under a renamed setting's old name to the new one (converted), in place, through groups,
 * list items and kinds. Each move is a warning; both names given at once is a problem.
 */
export function migrateSettings(
  group: Group,
  value: unknown,
  path: string,
  warnings: string[],
  problems: SettingProblem[],
): void {
  if (!isObject(value)) return;
  const at = (k: string): string => (path ? `${path}.${k}` : k);
  for (const [k, node] of Object.entries(group)) {
    if (isRenamed(node)) {
      if (!(k in value)) continue;
      if (node.renamedTo === undefined) {
        delete value[k];
        warnings.push(`${at(k)} is no longer used (${node.note}); remove it before the next release`);
        continue;
      }
      const to = at(node.renamedTo);
      if (node.renamedTo in value) {
        problems.push({
          path: at(k),
          given: show(value[k], true),
          allowed: `only the new name ${to} (${at(k)} is its old name)`,
          fix: `remove ${at(k)}`,
        });
        continue;
      }
      value[node.renamedTo] = node.convert ? node.convert(value[k]) : value[k];
      delete value[k];
      warnings.push(
        `${at(k)} is renamed ${to}${node.note ? ` (${node.note})` : ''}; the old name is accepted until the next release`,
      );
    } else if (isSetting(node)) {
      const c = node.format;
      const v = value[k];
      if (c.items && Array.isArray(v))
        v.forEach((item, i) => migrateSettings(c.items!.group, item, `${at(k)}[${i}]`, warnings, problems));
      else if (c.kinds && isObject(v) && typeof v.type === 'string' && Object.hasOwn(c.kinds, v.type))
        migrateSettings(c.kinds[v.type], v, at(k), warnings, problems);
    } else migrateSettings(node as Group, value[k], at(k), warnings, problems);
  }
}

// ---------------------------------------------------------------- reference

export interface ReferenceRow {
  key: string;
  default: unknown;
  allowed: string;
  env?: string;
  doc: string;
}

/** Every setting of a declaration as rows (list items as `key[].x`, kinds as `key.x` under "type = k"). */
export function referenceRows(group: Group, prefix = ''): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  for (const [k, node] of Object.entries(group)) {
    if (isRenamed(node)) continue;
    const key = `${prefix}${k}`;
    if (!isSetting(node)) {
      rows.push(...referenceRows(node as Group, `${key}.`));
      continue;
    }
    const c = node.format;
    rows.push({ key, default: node.default, allowed: c.allowed, env: node.env, doc: node.doc });
    if (c.items) rows.push(...referenceRows(c.items.group, `${key}[].`));
    if (c.kinds)
      for (const [type, g] of Object.entries(c.kinds)) {
        rows.push({ key: `${key}.type = ${type}`, default: undefined, allowed: '', doc: '' });
        rows.push(...referenceRows(g, `${key}.`));
      }
  }
  return rows;
}

/** Old names still accepted: `old -> new (note)`. */
export function renamedRows(group: Group, prefix = ''): { from: string; to: string; note?: string }[] {
  const rows: { from: string; to: string; note?: string }[] = [];
  for (const [k, node] of Object.entries(group)) {
    const key = `${prefix}${k}`;
    if (isRenamed(node))
      rows.push({
        from: key,
        to: node.renamedTo === undefined ? '(no longer used)' : `${prefix}${node.renamedTo}`,
        note: node.note,
      });
    else if (isSetting(node)) {
      const c = node.format;
      if (c.items) rows.push(...renamedRows(c.items.group, `${key}[].`));
      if (c.kinds) for (const g of Object.values(c.kinds)) rows.push(...renamedRows(g, `${key}.`));
    } else rows.push(...renamedRows(node as Group, `${key}.`));
  }
  return rows;
}
