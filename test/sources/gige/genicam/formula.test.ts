import { describe, expect, it } from 'vitest';
import { InspectdError } from '../../../../src/core/errors.js';
import { Formula, evaluate } from '../../../../src/sources/gige/genicam/formula.js';

describe('GenICam formula evaluator', () => {
  it('follows C-like precedence and associativity', () => {
    expect(evaluate('1 + 2 * 3')).toBe(7);
    expect(evaluate('(1 + 2) * 3')).toBe(9);
    expect(evaluate('10 - 4 - 3')).toBe(3);
    expect(evaluate('2 ** 3 ** 2')).toBe(512); // right-associative
    expect(evaluate('2 * 3 ** 2')).toBe(18);
    expect(evaluate('-2 ** 2')).toBe(4); // unary binds tighter than ** (as Aravis)
    expect(evaluate('1 + 2 << 3')).toBe(24);
    expect(evaluate('1 | 2 ^ 3 & 1')).toBe(1 | (2 ^ (3 & 1)));
    expect(evaluate('1 < 2 = 1')).toBe(1);
    expect(evaluate('3 = 3 && 2 <> 2 || 1')).toBe(1);
    expect(evaluate('7 % 4 * 2')).toBe(6);
  });

  it('evaluates the ternary operator, nested to the right', () => {
    expect(evaluate('1 ? 2 : 3')).toBe(2);
    expect(evaluate('0 ? 2 : 3')).toBe(3);
    expect(evaluate('X > 10 ? 1 : X > 5 ? 2 : 3', { X: 7 })).toBe(2);
    expect(evaluate('X > 10 ? 1 : X > 5 ? 2 : 3', { X: 1 })).toBe(3);
    expect(evaluate('(1 ? 0 : 1) ? 5 : 6')).toBe(6);
  });

  it('does bit operations on 64-bit integers, with hex literals', () => {
    expect(evaluate('0xFF & 0x0F')).toBe(0x0f);
    expect(evaluate('0xF0 | 0x0F')).toBe(0xff);
    expect(evaluate('0xFF ^ 0x0F')).toBe(0xf0);
    expect(evaluate('~0')).toBe(-1);
    expect(evaluate('~0 & 0xFFFF')).toBe(0xffff);
    expect(evaluate('1 << 40')).toBe(2 ** 40);
    expect(evaluate('0x10000000000 >> 8')).toBe(2 ** 32);
    expect(evaluate('-8 >> 1')).toBe(-4);
    expect(evaluate('(0x01080001 >> 16) & 0xFF')).toBe(8);
    expect(evaluate('!0 + !5')).toBe(1);
  });

  it('has functions and constants', () => {
    expect(evaluate('SGN(-3) + SGN(0) + SGN(2)')).toBe(0);
    expect(evaluate('NEG(4)')).toBe(-4);
    expect(evaluate('ABS(-2.5)')).toBe(2.5);
    expect(evaluate('SQRT(16)')).toBe(4);
    expect(evaluate('TRUNC(-2.7)')).toBe(-2);
    expect(evaluate('FLOOR(-2.5)')).toBe(-3);
    expect(evaluate('CEIL(2.1)')).toBe(3);
    expect(evaluate('ROUND(2.5)')).toBe(3);
    expect(evaluate('ROUND(-2.5)')).toBe(-3);
    expect(evaluate('ROUND(1.23456, 2)')).toBeCloseTo(1.23, 10);
    expect(evaluate('LN(E)')).toBeCloseTo(1, 12);
    expect(evaluate('LG(1000)')).toBeCloseTo(3, 12);
    expect(evaluate('EXP(0)')).toBe(1);
    expect(evaluate('COS(PI)')).toBeCloseTo(-1, 12);
    expect(evaluate('atan(1) * 4')).toBeCloseTo(Math.PI, 12);
  });

  it('uses integer division and power in integer mode, float otherwise', () => {
    expect(evaluate('7 / 2')).toBe(3.5);
    expect(evaluate('7 / 2', {}, 'int')).toBe(3);
    expect(evaluate('-7 / 2', {}, 'int')).toBe(-3);
    expect(evaluate('2 ** -1', {}, 'int')).toBe(0);
    expect(evaluate('1.5e3 + .5')).toBe(1500.5);
    expect(() => evaluate('1 / 0', {}, 'int')).toThrow(/division by zero/);
  });

  it('reads variables, a variable shadowing a constant, and lists them', () => {
    const f = new Formula('WIDTH * HEIGHT * ((PIXELFORMAT>>16)&0xFF) / 8');
    expect(f.variables.sort()).toEqual(['HEIGHT', 'PIXELFORMAT', 'WIDTH']);
    expect(f.evaluate({ WIDTH: 640, HEIGHT: 480, PIXELFORMAT: 0x01100007 }, 'int')).toBe(640 * 480 * 2);
    expect(evaluate('E + 1', { E: 1 })).toBe(2);
    expect(evaluate('X.Min + 1', new Map([['X.Min', 4]]))).toBe(5);
  });

  it('rejects bad syntax and unknown names with an InspectdError naming the formula', () => {
    for (const bad of ['1 +', '(1', '1 2', '1 ? 2', 'SQRT(1, 2)', '3 $ 4', ')', '']) {
      const e = (() => {
        try {
          evaluate(bad);
        } catch (err) {
          return err;
        }
      })();
      expect(e, bad).toBeInstanceOf(InspectdError);
      expect((e as Error).message).toContain(JSON.stringify(bad));
    }
    expect(() => evaluate('FOO + 1')).toThrow(/unknown variable FOO/);
    expect(() => evaluate('constructor')).toThrow(/unknown variable/);
    expect(() => evaluate('('.repeat(500) + '1' + ')'.repeat(500))).toThrow(/nested deeper/);
  });
});
