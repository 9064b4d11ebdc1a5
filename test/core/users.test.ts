import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashPassword, loadUsers, parseUsers, usersFileProblems, verifyUser } from '../../src/core/users.js';
import { formatProblem } from '../../src/core/settings.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';

describe('users files (web UI and OPC UA logins)', () => {
  const h = hashPassword('s3cret!!');

  it('verifies scrypt hashes (salted: two hashes of one password differ), refuses wrong passwords and unknown users', async () => {
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(hashPassword('s3cret!!')).not.toBe(h);
    const users = new Map([
      ['anna', h],
      ['broken', 'plain-text'],
    ]);
    expect(await verifyUser(users, 'anna', 's3cret!!')).toBe(true);
    expect(await verifyUser(users, 'anna', 's3cret!')).toBe(false);
    expect(await verifyUser(users, 'nobody', 's3cret!!')).toBe(false);
    expect(await verifyUser(users, 'broken', 'plain-text')).toBe(false);
  });

  it('parses a users file, reporting every bad line with its number and never the text after the colon', () => {
    const users = parseUsers(`# operators\nplc:${h}\n\nscada:${h}\n`, 'users');
    expect([...users.keys()]).toEqual(['plc', 'scada']);
    const bad = () =>
      parseUsers(
        `plc:${h}\nplc:${h}\nbob:hunter2\nno colon\n:${h}\nbig:scrypt$1048576$64$1$c2FsdHNhbHQ=$${'A'.repeat(44)}\n`,
        'f',
        'http.usersFile',
      );
    expect(bad).toThrow(
      /^users file f \(http\.usersFile\): line 2: user "plc" appears twice; line 3 \(user "bob"\): not a hash of the form scrypt\$N\$r\$p\$salt\$hash; line 4: no "name:" at its start; line 5: no "name:" at its start; line 6 \(user "big"\): scrypt parameters N=1048576 r=64 p=1 out of range/,
    );
    expect(bad).not.toThrow(/hunter2/);
  });

  it('lists what is wrong with a named file, for the checks before start', () => {
    const dir = tempDir('users');
    const file = (name: string, text: string) => {
      const f = path.join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    const good = file('good', `anna:${h}\n`);
    expect(usersFileProblems(good, 'http.usersFile', true)).toEqual([]);
    expect(loadUsers(good, 'http.usersFile').has('anna')).toBe(true);
    const missing = usersFileProblems(path.join(dir, 'nope'), 'http.usersFile', true).map(formatProblem);
    expect(missing).toEqual([
      expect.stringMatching(
        /^http\.usersFile: got ".*nope" \(cannot be read: ENOENT.*; fix: check http\.usersFile: the file must exist/,
      ),
    ]);
    const empty = file('empty', '# nobody yet\n');
    expect(usersFileProblems(empty, 'opcua.usersFile', false)).toEqual([]);
    expect(usersFileProblems(empty, 'http.usersFile', true).map(formatProblem)).toEqual([
      expect.stringMatching(
        /\(no users in it\).*fix: add one with `inspectd hash-password NAME >> .*empty`, or set http\.usersFile to ""/,
      ),
    ]);
    const two = file('two', 'a:x\nb:y\n');
    expect(usersFileProblems(two, 'http.usersFile', true)).toHaveLength(2);
    expect(() => loadUsers(path.join(dir, 'nope'), 'opcua.usersFile')).toThrow(
      /users file .*nope \(opcua\.usersFile\) cannot be read/,
    );
  });

  it('inspectd hash-password NAME prints a users-file line for a password read from stdin', async () => {
    const r = await runCli(['hash-password', 'anna'], {}, 'correct horse\n');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const line = r.stdout.trim();
    expect(line).toMatch(/^anna:scrypt\$16384\$8\$1\$/);
    expect(await verifyUser(parseUsers(line, 'out'), 'anna', 'correct horse')).toBe(true);
    const short = await runCli(['hash-password', 'anna'], {}, 'abc\n');
    expect([short.code, short.stderr]).toEqual([2, expect.stringContaining('has 3 characters')]);
    const badName = await runCli(['hash-password', 'a:b'], {}, 'correct horse\n');
    expect([badName.code, badName.stderr]).toEqual([
      2,
      expect.stringContaining('user name "a:b" is not usable'),
    ]);
  });
});
