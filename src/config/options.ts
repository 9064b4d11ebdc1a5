/**
 * Declarative option specs for list items convict cannot describe (cameras and their sources): each key with
 * its doc, default and check. Validation fills defaults and returns every problem with its full key path.
 */
export interface OptionSpec<T> {
  doc: string;
  default: T;
  /** Returns what is wrong (e.g. "must be an integer from 1 to 60"), or undefined. */
  check: (v: unknown) => string | undefined;
  /** Never logged or echoed back. */
  sensitive?: boolean;
}

export type OptionSpecs<T> = { [K in keyof T]: OptionSpec<T[K]> };

export interface Problem {
  key: string;
  message: string;
}

export function applySpecs<T>(specs: OptionSpecs<T>, value: unknown, path: string, problems: Problem[]): T {
  const obj = (value && typeof value === 'object' && !Array.isArray(value) ? value : {}) as Record<
    string,
    unknown
  >;
  if (value !== undefined && obj !== value)
    problems.push({ key: path, message: `must be an object, got ${JSON.stringify(value)}` });
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(specs) as [string, OptionSpec<unknown>][]) {
    const v = obj[k] === undefined ? spec.default : obj[k];
    const err = spec.check(v);
    if (err)
      problems.push({
        key: `${path}.${k}`,
        message: `${err}, got ${spec.sensitive ? '(hidden)' : JSON.stringify(v)}`,
      });
    out[k] = v;
  }
  for (const k of Object.keys(obj)) {
    if (!(k in specs))
      problems.push({
        key: `${path}.${k}`,
        message: `unknown setting (typo?); known here: ${Object.keys(specs).join(', ')}`,
      });
  }
  return out as T;
}

export const checks = {
  int: (min: number, max: number) => (v: unknown) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max
      ? undefined
      : `must be an integer from ${min} to ${max}`,
  number: (min: number, max: number) => (v: unknown) =>
    typeof v === 'number' && v >= min && v <= max ? undefined : `must be a number from ${min} to ${max}`,
  bool: () => (v: unknown) => (typeof v === 'boolean' ? undefined : 'must be true or false'),
  oneOf: (allowed: readonly string[]) => (v: unknown) =>
    allowed.includes(v as string) ? undefined : `must be one of ${allowed.join(', ')}`,
  nonEmptyString: () => (v: unknown) =>
    typeof v === 'string' && v.length > 0 ? undefined : 'must be a non-empty string',
  /** Any string, '' included (optional text settings). */
  string: () => (v: unknown) => (typeof v === 'string' ? undefined : 'must be a string'),
  /** A dotted IPv4 address, or '' for "not set". */
  ipv4OrEmpty: () => (v: unknown) =>
    v === '' ||
    (typeof v === 'string' &&
      /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(v) &&
      v.split('.').every((p) => Number(p) <= 255))
      ? undefined
      : 'must be an IPv4 address like 192.168.10.20, or "" (not set)',
  /** An object of name -> string | number | boolean (e.g. camera features to set). */
  valueMap: () => (v: unknown) =>
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    Object.values(v).every((x) => ['string', 'number', 'boolean'].includes(typeof x))
      ? undefined
      : 'must be an object of name: value (string, number or true/false)',
  name: () => (v: unknown) =>
    typeof v === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(v)
      ? undefined
      : 'must be 1-64 letters, digits, _ . - (starting with a letter or digit)',
};

/** Markdown rows for a spec, for the generated configuration reference. */
export function specRows(specs: OptionSpecs<unknown>, prefix: string): string[] {
  return Object.entries(specs as Record<string, OptionSpec<unknown>>).map(
    ([k, s]) => `| \`${prefix}${k}\` | \`${JSON.stringify(s.default)}\` |  | ${s.doc} |`,
  );
}
