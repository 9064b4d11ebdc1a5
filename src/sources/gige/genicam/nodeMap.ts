/**
 * A GenICam node map: the features a camera's XML describes, evaluated against its register space.
 *
 * Nodes: Integer, IntReg, MaskedIntReg, StructReg/StructEntry, Float, FloatReg, Converter, IntConverter,
 * SwissKnife, IntSwissKnife, Enumeration/EnumEntry, Command, Boolean, StringReg, Register, Category, Port.
 * Values are read through the RegisterPort on every call (no cache: always what the device says). Every
 * `Port` node stands for the one port given (the device); registers ignore `pPort`.
 *
 * Each internal evaluation carries a depth so that a reference cycle in a malformed XML ends in an error
 * instead of a stack overflow.
 */
import { InspectdError } from '../../../core/errors.js';
import { Formula } from './formula.js';
import type { RegisterPort } from './port.js';
import { parseXml, type XmlElement, type XmlParseOptions } from './xml.js';

export type AccessMode = 'RW' | 'RO' | 'WO' | 'NA' | 'NI';

export interface FeatureInfo {
  name: string;
  type: string;
}

export interface NumericRange {
  min: number;
  max: number;
  /** Integer features: the step (1 when the XML gives none); float features: undefined unless given. */
  inc?: number;
}

const MAX_DEPTH = 64;
/** Node types read and written as integers, and as floats (setFeature in cameraSetup dispatches on them). */
export const INT_TYPES: ReadonlySet<string> = new Set([
  'Integer',
  'IntReg',
  'MaskedIntReg',
  'StructEntry',
  'IntConverter',
  'IntSwissKnife',
]);
export const FLOAT_TYPES: ReadonlySet<string> = new Set(['Float', 'FloatReg', 'Converter', 'SwissKnife']);
const NUMBER_TYPES = new Set([...FLOAT_TYPES, ...INT_TYPES]);
const NODE_TYPES = new Set([
  ...INT_TYPES,
  ...FLOAT_TYPES,
  'Enumeration',
  'Command',
  'Boolean',
  'StringReg',
  'String',
  'Register',
  'Category',
  'Port',
  'ConfRom',
  'TextDesc',
  'IntKey',
  'AdvFeatureLock',
  'SmartFeature',
  'Node',
]);
/** The numeric bounds of an unbounded integer (int64 as far as a double goes). */
const INT64_MIN = -(2 ** 63);
const INT64_MAX = 2 ** 63 - 1;

const child = (el: XmlElement, tag: string): XmlElement | undefined =>
  el.children.find((c) => c.name === tag);
const kids = (el: XmlElement, tag: string): XmlElement[] => el.children.filter((c) => c.name === tag);
const text = (el: XmlElement, tag: string): string | undefined => child(el, tag)?.text.trim();

/** A number as GenICam XML writes it: decimal, 0x hex, float, INF/-INF/NaN. */
export function parseXmlNumber(s: string): number {
  const t = s.trim();
  if (/^[-+]?0x[0-9a-f]+$/i.test(t)) {
    const neg = t.startsWith('-');
    const v = Number(BigInt(t.replace(/^[-+]/, '')));
    return neg ? -v : v;
  }
  if (/^[-+]?inf(inity)?$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  const v = Number(t);
  if (t === '' || Number.isNaN(v)) {
    if (/^nan$/i.test(t)) return NaN;
    throw new InspectdError(`GenICam XML: ${JSON.stringify(s)} is not a number`, {
      subject: 'GenICam XML',
      value: s,
      fix: 'check the camera XML; report the camera model',
    });
  }
  return v;
}

const showRange = (r: NumericRange): string =>
  `${r.min}..${r.max}${r.inc !== undefined && r.inc !== 1 ? ` (step ${r.inc})` : ''}`;

export class NodeMap {
  private readonly nodes = new Map<string, XmlElement>();
  private readonly order: string[] = [];
  private readonly local = new Map<XmlElement, number>();
  private readonly formulas = new Map<string, Formula>();
  /** Names defined more than once (the first definition is used). */
  readonly duplicates: string[] = [];

  private constructor(
    readonly root: XmlElement,
    private readonly port: RegisterPort,
  ) {
    for (const el of root.children) this.add(el);
  }

  /** Parses a GenICam XML (RegisterDescription) into a node map over `port`. */
  static fromXml(xml: string, port: RegisterPort, opts: XmlParseOptions = {}): NodeMap {
    const root = parseXml(xml, opts);
    if (root.name !== 'RegisterDescription')
      throw new InspectdError(`GenICam XML: the root element is <${root.name}>, not <RegisterDescription>`, {
        subject: 'GenICam XML',
        fix: 'check that the file is a GenICam GenApi XML',
      });
    return new NodeMap(root, port);
  }

  private add(el: XmlElement): void {
    if (el.name === 'Group') {
      for (const c of el.children) this.add(c);
      return;
    }
    if (el.name === 'StructReg') {
      // Each entry is a MaskedIntReg sharing the struct's address, length, port, endianess...
      const shared = el.children.filter((c) => c.name !== 'StructEntry');
      for (const e of kids(el, 'StructEntry'))
        this.define({ ...e, name: 'StructEntry', children: [...e.children, ...shared] });
      return;
    }
    if (!NODE_TYPES.has(el.name)) return;
    this.define(el);
  }

  private define(el: XmlElement): void {
    const name = el.attrs.Name;
    if (!name) return;
    if (this.nodes.has(name)) {
      this.duplicates.push(name);
      return;
    }
    this.nodes.set(name, el);
    this.order.push(name);
  }

  // ---------------------------------------------------------------- public API

  has(name: string): boolean {
    return this.nodes.has(name);
  }

  /** Every named node with its type (element name; StructReg entries as 'StructEntry'), in XML order. */
  features(): FeatureInfo[] {
    return this.order.map((name) => ({ name, type: this.nodes.get(name)!.name }));
  }

  typeOf(name: string): string {
    return this.find(name).name;
  }

  async isImplemented(name: string): Promise<boolean> {
    return this.implemented(this.find(name), 0);
  }

  async isAvailable(name: string): Promise<boolean> {
    return this.available(this.find(name), 0);
  }

  async accessMode(name: string): Promise<AccessMode> {
    return this.access(this.find(name), 0);
  }

  async getInteger(name: string): Promise<number> {
    const el = this.findTyped(name, INT_TYPES, 'an integer', 'getFloat/getEnum/getBoolean/getString');
    await this.checkReadable(el);
    return Math.round(await this.value(el, 0));
  }

  async setInteger(name: string, value: number): Promise<void> {
    const el = this.findTyped(name, INT_TYPES, 'an integer', 'setFloat/setEnum/setBoolean');
    if (!Number.isSafeInteger(value))
      throw this.err(name, `${value} is not an integer`, value, 'give a whole number');
    await this.checkWritable(el);
    const r = await this.range(el, 0);
    if (value < r.min || value > r.max || (r.inc && r.inc > 1 && (value - r.min) % r.inc !== 0))
      throw this.outOfRange(name, value, r);
    await this.setValue(el, value, 0);
  }

  private outOfRange(name: string, value: number, r: NumericRange): InspectdError {
    return this.err(
      name,
      `${value} is out of range ${showRange(r)}`,
      value,
      `choose a value in ${showRange(r)}`,
    );
  }

  async integerRange(name: string): Promise<NumericRange> {
    return this.range(this.findTyped(name, INT_TYPES, 'an integer', 'floatRange'), 0);
  }

  /** A float feature, or an integer one read as a number. */
  async getFloat(name: string): Promise<number> {
    const el = this.findTyped(name, NUMBER_TYPES, 'a number', 'getEnum/getBoolean/getString');
    await this.checkReadable(el);
    return this.value(el, 0);
  }

  async setFloat(name: string, value: number): Promise<void> {
    const el = this.findTyped(name, NUMBER_TYPES, 'a number', 'setEnum/setBoolean');
    if (!Number.isFinite(value))
      throw this.err(name, `${value} is not a finite number`, value, 'give a finite number');
    if (INT_TYPES.has(el.name)) return this.setInteger(name, value);
    await this.checkWritable(el);
    const r = await this.range(el, 0);
    if (value < r.min || value > r.max) throw this.outOfRange(name, value, r);
    await this.setValue(el, value, 0);
  }

  async floatRange(name: string): Promise<NumericRange> {
    return this.range(this.findTyped(name, NUMBER_TYPES, 'a number', 'integerRange'), 0);
  }

  /** The symbolic name of an enumeration's current value. */
  async getEnum(name: string): Promise<string> {
    const el = this.findTyped(name, new Set(['Enumeration']), 'an enumeration', 'getInteger/getFloat');
    await this.checkReadable(el);
    const v = await this.value(el, 0);
    const entry = this.entries(el).find((e) => e.value === v);
    if (!entry)
      throw this.err(
        name,
        `the device reports value ${v}, which is none of the entries (${this.entries(el)
          .map((e) => `${e.symbolic}=${e.value}`)
          .join(', ')})`,
        v,
        'check the camera XML against the firmware; report the camera model',
      );
    return entry.symbolic;
  }

  /** The integer value behind an enumeration's current entry. */
  async getEnumValue(name: string): Promise<number> {
    const el = this.findTyped(name, new Set(['Enumeration']), 'an enumeration', 'getInteger');
    await this.checkReadable(el);
    return this.value(el, 0);
  }

  /** Symbolic names of the entries that are implemented and available now. */
  async enumEntries(name: string): Promise<string[]> {
    const el = this.findTyped(name, new Set(['Enumeration']), 'an enumeration', 'features');
    const out: string[] = [];
    for (const e of this.entries(el)) if (await this.available(e.el, 1)) out.push(e.symbolic);
    return out;
  }

  async setEnum(name: string, symbolic: string): Promise<void> {
    const el = this.findTyped(name, new Set(['Enumeration']), 'an enumeration', 'setInteger/setFloat');
    await this.checkWritable(el);
    const allowed = await this.enumEntries(name);
    const entry = this.entries(el).find((e) => e.symbolic === symbolic);
    if (!entry || !allowed.includes(symbolic))
      throw this.err(
        name,
        `${JSON.stringify(symbolic)} is ${entry ? 'not available now' : 'not an entry'}; allowed: ${allowed.join(', ') || '(none)'}`,
        symbolic,
        `use one of: ${allowed.join(', ')}`,
      );
    await this.setValue(el, entry.value, 0);
  }

  async getBoolean(name: string): Promise<boolean> {
    const el = this.findTyped(name, new Set(['Boolean']), 'a boolean', 'getInteger');
    await this.checkReadable(el);
    return (await this.value(el, 0)) === 1;
  }

  async setBoolean(name: string, on: boolean): Promise<void> {
    const el = this.findTyped(name, new Set(['Boolean']), 'a boolean', 'setInteger');
    await this.checkWritable(el);
    await this.setValue(el, on ? 1 : 0, 0);
  }

  /** Runs a command: writes its CommandValue to its pValue. */
  async execute(name: string): Promise<void> {
    const el = this.findTyped(name, new Set(['Command']), 'a command', 'setInteger');
    await this.checkWritable(el);
    const p = text(el, 'pValue');
    if (!p) throw this.err(name, 'has no pValue', undefined, 'check the camera XML');
    const v = await this.prop(el, 'CommandValue', 0);
    if (v === undefined) throw this.err(name, 'has no CommandValue', undefined, 'check the camera XML');
    await this.setValue(this.ref(p, 1), v, 1);
  }

  async getString(name: string): Promise<string> {
    const el = this.findTyped(name, new Set(['StringReg']), 'a string', 'getInteger/getEnum');
    await this.checkReadable(el);
    const { address, length } = await this.location(el, 0);
    const b = await this.port.read(address, length);
    const end = b.indexOf(0);
    return b.toString('utf8', 0, end < 0 ? b.length : end);
  }

  async setString(name: string, value: string): Promise<void> {
    const el = this.findTyped(name, new Set(['StringReg']), 'a string', 'setInteger/setEnum');
    await this.checkWritable(el);
    const { address, length } = await this.location(el, 0);
    const data = Buffer.from(value, 'utf8');
    if (data.length > length)
      throw this.err(
        name,
        `${JSON.stringify(value)} is ${data.length} bytes, over ${length}`,
        value,
        `use at most ${length} bytes`,
      );
    const padded = Buffer.alloc(length);
    data.copy(padded);
    await this.port.write(address, padded);
  }

  /** The raw bytes of a Register (or any register node). */
  async getBytes(name: string): Promise<Buffer> {
    const el = this.findTyped(
      name,
      new Set(['Register', 'IntReg', 'MaskedIntReg', 'FloatReg', 'StringReg']),
      'a register',
      'getInteger',
    );
    await this.checkReadable(el);
    const { address, length } = await this.location(el, 0);
    return this.port.read(address, length);
  }

  /** The features a Category lists (pFeature), in order. */
  categoryFeatures(name: string): string[] {
    const el = this.findTyped(name, new Set(['Category']), 'a category', 'features');
    return kids(el, 'pFeature').map((c) => c.text.trim());
  }

  // ---------------------------------------------------------------- lookup and errors

  private err(name: string, what: string, value: unknown, fix: string): InspectdError {
    return new InspectdError(`GenICam feature ${name}: ${what}`, { subject: name, value, fix });
  }

  private find(name: string): XmlElement {
    const el = this.nodes.get(name);
    if (!el) {
      const lower = name.toLowerCase();
      const near = this.order
        .filter((n) => n.toLowerCase().includes(lower) || lower.includes(n.toLowerCase()))
        .slice(0, 5);
      throw new InspectdError(`GenICam feature ${name} does not exist on this camera`, {
        subject: name,
        value: name,
        fix: near.length
          ? `did you mean ${near.join(', ')}?`
          : 'list the features the camera has (features())',
      });
    }
    return el;
  }

  private findTyped(name: string, types: ReadonlySet<string>, what: string, other: string): XmlElement {
    const el = this.find(name);
    if (!types.has(el.name))
      throw this.err(
        name,
        `is a ${el.name}, not ${what}`,
        undefined,
        `use the accessor for a ${el.name} (${other})`,
      );
    return el;
  }

  /** A referenced node (pValue, pMin, pVariable...), with the depth check. */
  private ref(name: string, d: number): XmlElement {
    if (d > MAX_DEPTH)
      throw new InspectdError(
        `GenICam XML: references nested deeper than ${MAX_DEPTH} at ${name} (a cycle?)`,
        {
          subject: name,
          fix: 'check the camera XML; report the camera model',
        },
      );
    const el = this.nodes.get(name);
    if (!el)
      throw new InspectdError(`GenICam XML: node ${name} is referenced but not defined`, {
        subject: name,
        fix: 'check the camera XML; report the camera model',
      });
    return el;
  }

  private async checkReadable(el: XmlElement): Promise<void> {
    const mode = await this.access(el, 0);
    if (mode === 'RO' || mode === 'RW') return;
    throw this.err(el.attrs.Name, this.modeText(mode, 'read'), undefined, this.modeFix(mode));
  }

  private async checkWritable(el: XmlElement): Promise<void> {
    const mode = await this.access(el, 0);
    if (mode === 'WO' || mode === 'RW') return;
    throw this.err(el.attrs.Name, this.modeText(mode, 'written'), undefined, this.modeFix(mode));
  }

  private modeText(mode: AccessMode, op: string): string {
    if (mode === 'NI') return `is not implemented on this camera, cannot be ${op}`;
    if (mode === 'NA') return `is not available now (access mode NA), cannot be ${op}`;
    return `is ${mode === 'RO' ? 'read-only' : 'write-only'} (${mode}), cannot be ${op}`;
  }

  private modeFix(mode: AccessMode): string {
    if (mode === 'NI') return 'this camera does not have it; remove it from the configuration';
    if (mode === 'NA' || mode === 'RO')
      return 'it may depend on other features (e.g. stop acquisition, or change a selector or mode first)';
    return 'this feature can only be written';
  }

  // ---------------------------------------------------------------- properties

  /** `<Tag>` literal or `<pTag>` pointer, as a number; undefined when neither is given. */
  private async prop(el: XmlElement, tag: string, d: number): Promise<number | undefined> {
    const p = text(el, `p${tag}`);
    if (p) return this.value(this.ref(p, d + 1), d + 1);
    const t = text(el, tag);
    return t === undefined ? undefined : parseXmlNumber(t);
  }

  private async implemented(el: XmlElement, d: number): Promise<boolean> {
    const p = text(el, 'pIsImplemented');
    return !p || (await this.value(this.ref(p, d + 1), d + 1)) !== 0;
  }

  private async available(el: XmlElement, d: number): Promise<boolean> {
    if (!(await this.implemented(el, d))) return false;
    const p = text(el, 'pIsAvailable');
    return !p || (await this.value(this.ref(p, d + 1), d + 1)) !== 0;
  }

  private async access(el: XmlElement, d: number): Promise<AccessMode> {
    if (!(await this.implemented(el, d))) return 'NI';
    if (!(await this.available(el, d))) return 'NA';
    let mode: AccessMode;
    switch (el.name) {
      case 'IntReg':
      case 'MaskedIntReg':
      case 'StructEntry':
      case 'FloatReg':
      case 'StringReg':
      case 'Register':
        mode = (text(el, 'AccessMode') as AccessMode | undefined) ?? 'RO';
        break;
      case 'SwissKnife':
      case 'IntSwissKnife':
      case 'Category':
        mode = 'RO';
        break;
      default: {
        const p = text(el, 'pValue');
        mode = p ? await this.access(this.ref(p, d + 1), d + 1) : el.name === 'Command' ? 'NA' : 'RW';
      }
    }
    const imposed = text(el, 'ImposedAccessMode');
    if (imposed === 'RO' && mode !== 'NA') mode = mode === 'WO' ? 'NA' : 'RO';
    else if (imposed === 'WO' && mode !== 'NA') mode = mode === 'RO' ? 'NA' : 'WO';
    const locked = text(el, 'pIsLocked');
    if (
      locked &&
      (mode === 'RW' || mode === 'WO') &&
      (await this.value(this.ref(locked, d + 1), d + 1)) !== 0
    )
      mode = mode === 'RW' ? 'RO' : 'NA';
    return mode;
  }

  // ---------------------------------------------------------------- values

  /** The numeric value of any value node (enumerations: the integer; booleans: 1 or 0). */
  private async value(el: XmlElement, d: number): Promise<number> {
    switch (el.name) {
      case 'Integer':
      case 'Float':
      case 'Enumeration':
      case 'Command': {
        const p = text(el, 'pValue');
        if (p) return this.value(this.ref(p, d + 1), d + 1);
        const stored = this.local.get(el);
        if (stored !== undefined) return stored;
        const v = text(el, 'Value');
        if (v === undefined) throw this.xmlErr(el, 'has neither pValue nor Value');
        return parseXmlNumber(v);
      }
      case 'Boolean': {
        const p = text(el, 'pValue');
        const raw = p
          ? await this.value(this.ref(p, d + 1), d + 1)
          : (this.local.get(el) ?? parseXmlNumber(text(el, 'Value') ?? '0'));
        const on = text(el, 'OnValue');
        return raw === (on === undefined ? 1 : parseXmlNumber(on)) ? 1 : 0;
      }
      case 'IntReg':
      case 'MaskedIntReg':
      case 'StructEntry':
        return this.readInt(el, d);
      case 'FloatReg': {
        const { address, length } = await this.location(el, d);
        if (length !== 4 && length !== 8) throw this.xmlErr(el, `FloatReg length ${length}, not 4 or 8`);
        const b = await this.port.read(address, length);
        const le = this.littleEndian(el);
        return length === 4
          ? le
            ? b.readFloatLE(0)
            : b.readFloatBE(0)
          : le
            ? b.readDoubleLE(0)
            : b.readDoubleBE(0);
      }
      case 'Converter':
      case 'IntConverter': {
        const p = text(el, 'pValue');
        if (!p) throw this.xmlErr(el, 'has no pValue');
        const to = await this.value(this.ref(p, d + 1), d + 1);
        return this.formula(el, 'FormulaFrom', { TO: to }, d);
      }
      case 'SwissKnife':
      case 'IntSwissKnife':
        return this.formula(el, 'Formula', {}, d);
      default:
        throw this.xmlErr(el, `is a ${el.name}, which has no numeric value`);
    }
  }

  private async setValue(el: XmlElement, v: number, d: number): Promise<void> {
    switch (el.name) {
      case 'Integer':
      case 'Float':
      case 'Enumeration':
      case 'Command': {
        const p = text(el, 'pValue');
        if (p) return this.setValue(this.ref(p, d + 1), v, d + 1);
        this.local.set(el, v);
        return;
      }
      case 'Boolean': {
        const on = text(el, 'OnValue');
        const off = text(el, 'OffValue');
        const raw = v
          ? on === undefined
            ? 1
            : parseXmlNumber(on)
          : off === undefined
            ? 0
            : parseXmlNumber(off);
        const p = text(el, 'pValue');
        if (p) return this.setValue(this.ref(p, d + 1), raw, d + 1);
        this.local.set(el, raw);
        return;
      }
      case 'IntReg':
      case 'MaskedIntReg':
      case 'StructEntry':
        return this.writeInt(el, v, d);
      case 'FloatReg': {
        const { address, length } = await this.location(el, d);
        if (length !== 4 && length !== 8) throw this.xmlErr(el, `FloatReg length ${length}, not 4 or 8`);
        const b = Buffer.alloc(length);
        const le = this.littleEndian(el);
        if (length === 4) {
          if (le) b.writeFloatLE(v, 0);
          else b.writeFloatBE(v, 0);
        } else if (le) b.writeDoubleLE(v, 0);
        else b.writeDoubleBE(v, 0);
        return this.port.write(address, b);
      }
      case 'Converter':
      case 'IntConverter': {
        const p = text(el, 'pValue');
        if (!p) throw this.xmlErr(el, 'has no pValue');
        const target = this.ref(p, d + 1);
        let to = await this.formula(el, 'FormulaTo', { FROM: v }, d);
        if (INT_TYPES.has(target.name) || target.name === 'Enumeration') to = Math.round(to);
        return this.setValue(target, to, d + 1);
      }
      default:
        throw this.xmlErr(el, `is a ${el.name}, which cannot be written`);
    }
  }

  private xmlErr(el: XmlElement, what: string): InspectdError {
    return new InspectdError(
      `GenICam XML: ${el.name} ${el.attrs.Name ?? '(anonymous)'} (line ${el.line}) ${what}`,
      {
        subject: el.attrs.Name ?? el.name,
        fix: 'check the camera XML; report the camera model',
      },
    );
  }

  private async range(el: XmlElement, d: number): Promise<NumericRange> {
    const isInt = INT_TYPES.has(el.name);
    const incOf = async (): Promise<number | undefined> =>
      (await this.prop(el, 'Inc', d)) ?? (isInt ? 1 : undefined);
    switch (el.name) {
      case 'Integer':
      case 'Float': {
        const p = text(el, 'pValue');
        const inner = p ? await this.range(this.ref(p, d + 1), d + 1) : undefined;
        const min = (await this.prop(el, 'Min', d)) ?? inner?.min ?? (isInt ? INT64_MIN : -Infinity);
        const max = (await this.prop(el, 'Max', d)) ?? inner?.max ?? (isInt ? INT64_MAX : Infinity);
        const inc = (await this.prop(el, 'Inc', d)) ?? (isInt ? (inner?.inc ?? 1) : inner?.inc);
        return { min, max, ...(inc !== undefined ? { inc } : {}) };
      }
      case 'IntReg':
      case 'MaskedIntReg':
      case 'StructEntry': {
        const { bits, signed } = await this.fieldShape(el, d);
        return signed
          ? { min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1, inc: 1 }
          : { min: 0, max: 2 ** bits - 1, inc: 1 };
      }
      case 'Converter':
      case 'IntConverter': {
        const p = text(el, 'pValue');
        if (!p) throw this.xmlErr(el, 'has no pValue');
        const inner = await this.range(this.ref(p, d + 1), d + 1);
        const ends: number[] = [];
        for (const to of [inner.min, inner.max]) {
          if (!Number.isFinite(to) || Math.abs(to) >= 2 ** 62) continue;
          try {
            const v = await this.formula(el, 'FormulaFrom', { TO: to }, d);
            if (Number.isFinite(v)) ends.push(v);
          } catch {
            // An end the formula cannot map (division by zero...) leaves that side open.
          }
        }
        const inc = await incOf();
        if (ends.length < 2)
          return {
            min: isInt ? INT64_MIN : -Infinity,
            max: isInt ? INT64_MAX : Infinity,
            ...(inc ? { inc } : {}),
          };
        return { min: Math.min(...ends), max: Math.max(...ends), ...(inc ? { inc } : {}) };
      }
      default:
        return {
          min: isInt ? INT64_MIN : -Infinity,
          max: isInt ? INT64_MAX : Infinity,
          ...(isInt ? { inc: 1 } : {}),
        };
    }
  }

  private entries(el: XmlElement): { el: XmlElement; symbolic: string; value: number }[] {
    const prefix = `EnumEntry_${el.attrs.Name}_`;
    return kids(el, 'EnumEntry').map((e) => {
      const name = e.attrs.Name ?? '';
      const symbolic = text(e, 'Symbolic') ?? (name.startsWith(prefix) ? name.slice(prefix.length) : name);
      const v = text(e, 'Value');
      return { el: e, symbolic, value: v === undefined ? NaN : parseXmlNumber(v) };
    });
  }

  // ---------------------------------------------------------------- formulas

  private compiled(src: string): Formula {
    let f = this.formulas.get(src);
    if (!f) {
      f = new Formula(src);
      this.formulas.set(src, f);
    }
    return f;
  }

  /** Evaluates `<tag>` of a SwissKnife/Converter with its pVariable, Constant and Expression children. */
  private async formula(
    el: XmlElement,
    tag: string,
    extra: Record<string, number>,
    d: number,
  ): Promise<number> {
    const src = text(el, tag);
    if (src === undefined) throw this.xmlErr(el, `has no ${tag}`);
    const mode = el.name.startsWith('Int') ? 'int' : 'float';
    const main = this.compiled(src);
    const vars = new Map<string, number>(Object.entries(extra));
    const named = (tagName: string): Map<string, XmlElement> =>
      new Map(kids(el, tagName).map((c) => [c.attrs.Name ?? '', c]));
    const pvars = named('pVariable');
    const consts = named('Constant');
    const exprs = named('Expression');
    const busy = new Set<string>();
    const resolve = async (n: string): Promise<void> => {
      if (vars.has(n) || busy.has(n)) return;
      busy.add(n);
      const pv = pvars.get(n);
      const c = consts.get(n);
      const x = exprs.get(n);
      if (pv) vars.set(n, await this.value(this.ref(pv.text.trim(), d + 1), d + 1));
      else if (c) vars.set(n, parseXmlNumber(c.text));
      else if (x) {
        const f = this.compiled(x.text.trim());
        for (const v of f.variables) await resolve(v);
        vars.set(n, f.evaluate(vars, mode));
      }
    };
    for (const v of main.variables) await resolve(v);
    return main.evaluate(vars, mode);
  }

  // ---------------------------------------------------------------- registers

  private littleEndian(el: XmlElement): boolean {
    return (text(el, 'Endianess') ?? 'LittleEndian') !== 'BigEndian';
  }

  /** Address (sum of Address, pAddress and inline IntSwissKnife, plus pIndex x Offset) and length. */
  private async location(el: XmlElement, d: number): Promise<{ address: number; length: number }> {
    const length = (await this.prop(el, 'Length', d)) ?? 4;
    if (!Number.isInteger(length) || length < 1 || length > 64 * 1024 * 1024)
      throw this.xmlErr(el, `has length ${length}`);
    let address = 0;
    for (const c of el.children) {
      if (c.name === 'Address') address += parseXmlNumber(c.text);
      else if (c.name === 'pAddress') address += await this.value(this.ref(c.text.trim(), d + 1), d + 1);
      else if (c.name === 'IntSwissKnife') address += await this.formula(c, 'Formula', {}, d + 1);
      else if (c.name === 'pIndex') {
        const index = await this.value(this.ref(c.text.trim(), d + 1), d + 1);
        const offset = c.attrs.pOffset
          ? await this.value(this.ref(c.attrs.pOffset, d + 1), d + 1)
          : c.attrs.Offset !== undefined
            ? parseXmlNumber(c.attrs.Offset)
            : length;
        address += index * offset;
      }
    }
    if (!Number.isSafeInteger(address) || address < 0 || address > 2 ** 64)
      throw this.xmlErr(el, `has address ${address}`);
    return { address, length };
  }

  /** The bit field of an integer register: LSB-0 bit numbers, with the register's endianess applied. */
  private async fieldShape(
    el: XmlElement,
    d: number,
  ): Promise<{ lsb: number; msb: number; bits: number; signed: boolean; length: number }> {
    const length = (await this.prop(el, 'Length', d)) ?? 4;
    if (!Number.isInteger(length) || length < 1 || length > 8)
      throw this.xmlErr(el, `integer register of ${length} bytes (1..8)`);
    const signed = text(el, 'Sign') === 'Signed';
    const top = 8 * length - 1;
    if (el.name === 'IntReg') return { lsb: 0, msb: top, bits: top + 1, signed, length };
    const bit = text(el, 'Bit');
    let lsb = bit !== undefined ? parseXmlNumber(bit) : parseXmlNumber(text(el, 'LSB') ?? '0');
    let msb = bit !== undefined ? lsb : parseXmlNumber(text(el, 'MSB') ?? String(lsb));
    if (!this.littleEndian(el)) {
      // Big-endian registers number bits from the most significant one (bit 0 = MSB).
      lsb = top - lsb;
      msb = top - msb;
    }
    if (lsb > msb) [lsb, msb] = [msb, lsb];
    if (lsb < 0 || msb > top)
      throw this.xmlErr(el, `bit field ${lsb}..${msb} outside a ${length}-byte register`);
    return { lsb, msb, bits: msb - lsb + 1, signed, length };
  }

  private toBig(b: Buffer, le: boolean): bigint {
    let v = 0n;
    for (let i = 0; i < b.length; i++) v = (v << 8n) | BigInt(b[le ? b.length - 1 - i : i]);
    return v;
  }

  private fromBig(v: bigint, length: number, le: boolean): Buffer {
    const b = Buffer.alloc(length);
    let x = BigInt.asUintN(8 * length, v);
    for (let i = 0; i < length; i++) {
      b[le ? i : length - 1 - i] = Number(x & 0xffn);
      x >>= 8n;
    }
    return b;
  }

  private async readInt(el: XmlElement, d: number): Promise<number> {
    const { address } = await this.location(el, d);
    const { lsb, bits, signed, length } = await this.fieldShape(el, d);
    const raw = this.toBig(await this.port.read(address, length), this.littleEndian(el));
    const field = BigInt.asUintN(bits, raw >> BigInt(lsb));
    return Number(signed ? BigInt.asIntN(bits, field) : field);
  }

  private async writeInt(el: XmlElement, v: number, d: number): Promise<void> {
    const { address } = await this.location(el, d);
    const { lsb, bits, signed, length } = await this.fieldShape(el, d);
    const lo = signed ? -(2 ** (bits - 1)) : 0;
    const hi = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw this.err(
        el.attrs.Name,
        `${v} does not fit the ${bits}-bit ${signed ? 'signed' : 'unsigned'} register field (${lo}..${hi})`,
        v,
        `choose a value in ${lo}..${hi}`,
      );
    const le = this.littleEndian(el);
    let raw = BigInt.asUintN(bits, BigInt(v)) << BigInt(lsb);
    if (bits < 8 * length) {
      // A partial field: read, modify, write (a write-only register starts from zero).
      const mode = text(el, 'AccessMode') ?? 'RO';
      const old = mode === 'WO' ? 0n : this.toBig(await this.port.read(address, length), le);
      const mask = ((1n << BigInt(bits)) - 1n) << BigInt(lsb);
      raw = (old & ~mask) | (raw & mask);
    }
    await this.port.write(address, this.fromBig(raw, length, le));
  }
}
