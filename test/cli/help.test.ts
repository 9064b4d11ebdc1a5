import { describe, expect, it } from 'vitest';
import { flagName } from '../../src/core/flags.js';
import { COMMON_FLAGS, fitMethods } from '../../src/fit/methods.js';
import { runCli } from '../helpers/cli.js';

const COMMANDS = [
  'run',
  'fit',
  'eval',
  'export-marks',
  'sim-dataset',
  'check-config',
  'hash-password',
  'config-doc',
  'version',
];

describe('inspectd <command> --help', () => {
  it('each command answers --help, -h and `help <command>` with its own usage on stdout, exit 0', async () => {
    const runs = COMMANDS.flatMap((c) => [
      [c, '--help'],
      [c, '-h'],
      ['help', c],
    ]);
    const results = await Promise.all(runs.map((args) => runCli(args)));
    results.forEach((r, i) => {
      const command = runs[i][0] === 'help' ? runs[i][1] : runs[i][0];
      expect(r.code, `${runs[i].join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: inspectd ${command}\\b`));
      expect(r.stderr).toBe('');
    });
  });

  it('--help wins over the other arguments, also bad ones', async () => {
    const r = await runCli(['eval', '--bogus', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: inspectd eval /);
  });

  it('lists the commands on `inspectd help`; no command and bad usage exit 2 with the usage', async () => {
    const [help, none, bad, unknown] = await Promise.all([
      runCli(['help']),
      runCli([]),
      runCli(['sim-dataset', '--bogus']),
      runCli(['help', 'nope']),
    ]);
    expect(help.code).toBe(0);
    for (const c of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(none.code).toBe(2);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--bogus'[\s\S]*usage: inspectd sim-dataset /);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "nope"/);
  });
});

describe('fit --help and the table of fit methods', () => {
  it('has a section for every method of the table with its flags, and the flags of every method', async () => {
    const r = await runCli(['fit', '--help']);
    expect(r.code).toBe(0);
    const [common, ...sections] = r.stdout.split(/\n(?=--method )/);
    for (const k of Object.keys(COMMON_FLAGS))
      expect(common).toMatch(new RegExp(`^ +--${flagName(k)}\\b`, 'm'));
    expect(sections.map((s) => /^--method (\S+):/.exec(s)?.[1])).toEqual(Object.keys(fitMethods));
    for (const [i, m] of Object.values(fitMethods).entries()) {
      expect(sections[i]).toContain(m.summary);
      for (const [k, f] of Object.entries(m.flags)) {
        expect(sections[i]).toMatch(
          new RegExp(`^ +--${flagName(k)}\\b.*${escape(f.doc.split(' ')[0])}`, 'm'),
        );
        if (f.format.input !== 'boolean') expect(sections[i]).toContain(f.format.allowed);
        if (f.default !== undefined) expect(sections[i]).toContain(`default ${String(f.default)}`);
        if (f.config) expect(sections[i]).toContain(`default: the configuration's ${f.config}`);
      }
    }
  });

  it('refuses a flag of another method, naming the method and the flags it takes', async () => {
    const cases = Object.entries(fitMethods).map(([name, m]) => {
      const foreign = Object.values(fitMethods)
        .flatMap((other) => Object.keys(other.flags))
        .find((k) => !(k in m.flags) && !(k in COMMON_FLAGS));
      return { name, m, foreign: foreign! };
    });
    const results = await Promise.all(
      cases.map((c) => runCli(['fit', '--method', c.name, `--${flagName(c.foreign)}`, '1'])),
    );
    results.forEach((r, i) => {
      const { name, m, foreign } = cases[i];
      expect(r.code).toBe(2);
      const own = Object.keys(m.flags)
        .map((k) => `--${flagName(k)}`)
        .join(', ');
      expect(r.stderr).toContain(
        `--${flagName(foreign)} does not apply to --method ${name}; it takes ${own}`,
      );
    });
  });
});

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
