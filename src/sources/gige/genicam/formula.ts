/**
 * GenICam formula expressions (SwissKnife, Converter): a tokenizer and a recursive-descent parser into a
 * small tree, evaluated without eval(). Operators, loosest first (as Aravis's arvevaluator.c):
 *   ?:  ||  &&  |  ^  &  = <>  < > <= >=  << >>  + -  * / %  **  unary - + ~ !
 * Functions: SGN NEG ABS SQRT TRUNC FLOOR CEIL ROUND LN LG EXP SIN COS TAN ASIN ACOS ATAN; constants PI, E.
 * Integer mode (IntSwissKnife, IntConverter): / and ** truncate toward zero. Bit operators work on 64-bit
 * integers in both modes. Comparisons and logic give 1 or 0.
 */
import { InspectdError } from '../../../core/errors.js';

export type FormulaNode =
  | { k: 'num'; v: number }
  | { k: 'var'; name: string }
  | { k: 'un'; op: string; a: FormulaNode }
  | { k: 'bin'; op: string; a: FormulaNode; b: FormulaNode }
  | { k: 'tern'; c: FormulaNode; a: FormulaNode; b: FormulaNode }
  | { k: 'call'; fn: string; args: FormulaNode[] };

type Tok = { t: 'num'; v: number } | { t: 'id'; v: string } | { t: 'op'; v: string };

const MAX_FORMULA = 64 * 1024;
const MAX_NESTING = 200;

const OPS = [
  '**',
  '<<',
  '>>',
  '<=',
  '>=',
  '<>',
  '==',
  '!=',
  '&&',
  '||',
  '+',
  '-',
  '*',
  '/',
  '%',
  '&',
  '|',
  '^',
  '~',
  '!',
  '=',
  '<',
  '>',
  '?',
  ':',
  '(',
  ')',
  ',',
];

const FUNCS: Record<string, { n: number[]; f: (...a: number[]) => number }> = {
  SGN: { n: [1], f: (x) => Math.sign(x) },
  NEG: { n: [1], f: (x) => -x },
  ABS: { n: [1], f: (x) => Math.abs(x) },
  SQRT: { n: [1], f: (x) => Math.sqrt(x) },
  TRUNC: { n: [1], f: (x) => Math.trunc(x) },
  FLOOR: { n: [1], f: (x) => Math.floor(x) },
  CEIL: { n: [1], f: (x) => Math.ceil(x) },
  ROUND: {
    n: [1, 2],
    f: (x, p = 0) => {
      const s = 10 ** Math.trunc(p);
      return (Math.sign(x) * Math.round(Math.abs(x) * s)) / s;
    },
  },
  LN: { n: [1], f: (x) => Math.log(x) },
  LG: { n: [1], f: (x) => Math.log10(x) },
  EXP: { n: [1], f: (x) => Math.exp(x) },
  SIN: { n: [1], f: (x) => Math.sin(x) },
  COS: { n: [1], f: (x) => Math.cos(x) },
  TAN: { n: [1], f: (x) => Math.tan(x) },
  ASIN: { n: [1], f: (x) => Math.asin(x) },
  ACOS: { n: [1], f: (x) => Math.acos(x) },
  ATAN: { n: [1], f: (x) => Math.atan(x) },
};

const CONSTS: Record<string, number> = { PI: Math.PI, E: Math.E };

function formulaError(formula: string, what: string): InspectdError {
  return new InspectdError(`GenICam formula ${JSON.stringify(formula)}: ${what}`, {
    subject: 'GenICam formula',
    value: formula,
    fix: 'check the camera XML; report the camera model if the formula looks valid',
  });
}

function tokenize(src: string): Tok[] {
  if (src.length > MAX_FORMULA) throw formulaError(src.slice(0, 80), `longer than ${MAX_FORMULA} characters`);
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const hex = /^0x[0-9a-f]+/i.exec(src.slice(i, i + 40));
    if (hex) {
      toks.push({ t: 'num', v: Number(BigInt.asIntN(64, BigInt(hex[0]))) });
      i += hex[0].length;
      continue;
    }
    const num = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(src.slice(i, i + 400));
    if (num) {
      toks.push({ t: 'num', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][\w.]*/.exec(src.slice(i, i + 400));
    if (id) {
      toks.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw formulaError(src, `unexpected character ${JSON.stringify(c)} at ${i}`);
    toks.push({ t: 'op', v: op === '==' ? '=' : op === '!=' ? '<>' : op });
    i += op.length;
  }
  return toks;
}

/** Binary operator levels, loosest first. */
const LEVELS: string[][] = [
  ['||'],
  ['&&'],
  ['|'],
  ['^'],
  ['&'],
  ['=', '<>'],
  ['<', '>', '<=', '>='],
  ['<<', '>>'],
  ['+', '-'],
  ['*', '/', '%'],
];

/** Parses a formula into a tree. Throws InspectdError on a syntax error. */
export function parseFormula(src: string): FormulaNode {
  const toks = tokenize(src);
  let p = 0;
  let depth = 0;
  const peekOp = (): string | undefined => {
    const t = toks[p];
    return t && t.t === 'op' ? t.v : undefined;
  };
  const expect = (op: string): void => {
    if (peekOp() !== op) throw formulaError(src, `expected '${op}' at token ${p + 1}`);
    p++;
  };
  const enter = (): void => {
    if (++depth > MAX_NESTING) throw formulaError(src, `nested deeper than ${MAX_NESTING}`);
  };
  const ternary = (): FormulaNode => {
    enter();
    const c = binary(0);
    let r = c;
    if (peekOp() === '?') {
      p++;
      const a = ternary();
      expect(':');
      const b = ternary();
      r = { k: 'tern', c, a, b };
    }
    depth--;
    return r;
  };
  const binary = (level: number): FormulaNode => {
    if (level >= LEVELS.length) return power();
    let a = binary(level + 1);
    for (;;) {
      const op = peekOp();
      if (op === undefined || !LEVELS[level].includes(op)) return a;
      p++;
      a = { k: 'bin', op, a, b: binary(level + 1) };
    }
  };
  const power = (): FormulaNode => {
    const a = unary();
    if (peekOp() === '**') {
      p++;
      enter();
      const b = power(); // right-associative
      depth--;
      return { k: 'bin', op: '**', a, b };
    }
    return a;
  };
  const unary = (): FormulaNode => {
    const op = peekOp();
    if (op === '-' || op === '+' || op === '~' || op === '!') {
      p++;
      enter();
      const a = unary();
      depth--;
      return op === '+' ? a : { k: 'un', op, a };
    }
    return primary();
  };
  const primary = (): FormulaNode => {
    const t = toks[p];
    if (!t) throw formulaError(src, 'unexpected end');
    p++;
    if (t.t === 'num') return { k: 'num', v: t.v };
    if (t.t === 'op') {
      if (t.v !== '(') throw formulaError(src, `unexpected '${t.v}' at token ${p}`);
      const e = ternary();
      expect(')');
      return e;
    }
    const fn = FUNCS[t.v.toUpperCase()];
    if (fn && peekOp() === '(') {
      p++;
      const args: FormulaNode[] = [];
      if (peekOp() !== ')') {
        args.push(ternary());
        while (peekOp() === ',') {
          p++;
          args.push(ternary());
        }
      }
      expect(')');
      if (!fn.n.includes(args.length))
        throw formulaError(
          src,
          `${t.v.toUpperCase()} takes ${fn.n.join(' or ')} argument(s), not ${args.length}`,
        );
      return { k: 'call', fn: t.v.toUpperCase(), args };
    }
    return { k: 'var', name: t.v };
  };
  const tree = ternary();
  if (p < toks.length) throw formulaError(src, `unexpected token ${p + 1} after the end of the expression`);
  return tree;
}

/** Names of the variables a formula reads (constants PI and E excluded unless the caller defines them). */
export function formulaVariables(tree: FormulaNode, into = new Set<string>()): Set<string> {
  switch (tree.k) {
    case 'var':
      into.add(tree.name);
      break;
    case 'un':
      formulaVariables(tree.a, into);
      break;
    case 'bin':
      formulaVariables(tree.a, into);
      formulaVariables(tree.b, into);
      break;
    case 'tern':
      formulaVariables(tree.c, into);
      formulaVariables(tree.a, into);
      formulaVariables(tree.b, into);
      break;
    case 'call':
      for (const a of tree.args) formulaVariables(a, into);
      break;
  }
  return into;
}

const big = (x: number): bigint => BigInt.asIntN(64, BigInt(Number.isFinite(x) ? Math.trunc(x) : 0));
const fromBig = (x: bigint): number => Number(BigInt.asIntN(64, x));
const bool = (b: boolean): number => (b ? 1 : 0);

/**
 * Evaluates a parsed formula. `vars` maps variable names (case-sensitive; PI and E as fallbacks) to values.
 * Throws InspectdError for an unknown variable.
 */
export function evaluateFormula(
  tree: FormulaNode,
  vars: ReadonlyMap<string, number> | Record<string, number>,
  mode: 'int' | 'float' = 'float',
  source = '',
): number {
  const lookup = (n: string): number | undefined =>
    vars instanceof Map
      ? vars.get(n)
      : Object.hasOwn(vars, n)
        ? (vars as Record<string, number>)[n]
        : undefined;
  const int = mode === 'int';
  const ev = (n: FormulaNode): number => {
    switch (n.k) {
      case 'num':
        return n.v;
      case 'var': {
        const v = lookup(n.name) ?? CONSTS[n.name.toUpperCase()];
        if (v === undefined) throw formulaError(source, `unknown variable ${n.name}`);
        return v;
      }
      case 'un': {
        const a = ev(n.a);
        if (n.op === '-') return -a;
        if (n.op === '!') return bool(a === 0);
        return fromBig(~big(a));
      }
      case 'tern':
        return ev(n.c) !== 0 ? ev(n.a) : ev(n.b);
      case 'call':
        return FUNCS[n.fn].f(...n.args.map(ev));
      case 'bin': {
        if (n.op === '&&') return bool(ev(n.a) !== 0 && ev(n.b) !== 0);
        if (n.op === '||') return bool(ev(n.a) !== 0 || ev(n.b) !== 0);
        const a = ev(n.a);
        const b = ev(n.b);
        switch (n.op) {
          case '+':
            return a + b;
          case '-':
            return a - b;
          case '*':
            return a * b;
          case '/':
            if (int) {
              if (b === 0) throw formulaError(source, 'integer division by zero');
              return Math.trunc(a / b);
            }
            return a / b;
          case '%':
            if (int && b === 0) throw formulaError(source, 'integer modulo by zero');
            return a % b;
          case '**':
            return int ? Math.trunc(a ** b) : a ** b;
          case '&':
            return fromBig(big(a) & big(b));
          case '|':
            return fromBig(big(a) | big(b));
          case '^':
            return fromBig(big(a) ^ big(b));
          case '<<':
            return fromBig(big(a) << BigInt(Math.min(Math.max(Math.trunc(b), 0), 64)));
          case '>>':
            return fromBig(big(a) >> BigInt(Math.min(Math.max(Math.trunc(b), 0), 64)));
          case '=':
            return bool(a === b);
          case '<>':
            return bool(a !== b);
          case '<':
            return bool(a < b);
          case '>':
            return bool(a > b);
          case '<=':
            return bool(a <= b);
          case '>=':
            return bool(a >= b);
        }
        throw formulaError(source, `operator ${n.op}`);
      }
    }
  };
  const r = ev(tree);
  return r === 0 ? 0 : r; // no -0
}

/** A parsed formula with its source, for repeated evaluation. */
export class Formula {
  readonly tree: FormulaNode;
  readonly variables: string[];
  constructor(readonly source: string) {
    this.tree = parseFormula(source);
    this.variables = [...formulaVariables(this.tree)];
  }
  evaluate(
    vars: ReadonlyMap<string, number> | Record<string, number>,
    mode: 'int' | 'float' = 'float',
  ): number {
    return evaluateFormula(this.tree, vars, mode, this.source);
  }
}

/** Parses and evaluates in one step (tests, one-off use). */
export const evaluate = (
  src: string,
  vars: ReadonlyMap<string, number> | Record<string, number> = {},
  mode: 'int' | 'float' = 'float',
): number => new Formula(src).evaluate(vars, mode);
