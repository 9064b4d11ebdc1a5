import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InspectdError, messageOf } from './errors.js';
import type { SettingProblem } from './settings.js';

/**
 * The users who may log in (OPC UA, the web UI; one file may serve both): a file of
 * `name:scrypt$N$r$p$salt$hash` lines (salt and hash base64), made with `inspectd hash-password NAME`. Only
 * hashes are stored, so the file (or a systemd credential) never holds a password in clear.
 */

const N = 16384;
const R = 8;
const P = 1;
const KEY_LEN = 32;
/** Memory one check may take: N=16384, r=8 needs 16 MiB; a hash asking more is refused when the file loads. */
const MAX_MEM = 256 * 1024 * 1024;
const HASH = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;
const FORMAT_FIX = 'one "name:hash" line per user, each made with `inspectd hash-password NAME`';

interface Hash {
  params: { N: number; r: number; p: number; maxmem: number };
  salt: Buffer;
  hash: Buffer;
}

/** A stored hash taken apart, or what is wrong with it. */
function parseHash(stored: string): Hash | string {
  const m = HASH.exec(stored);
  if (!m) return 'not a hash of the form scrypt$N$r$p$salt$hash';
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const salt = Buffer.from(m[4], 'base64');
  const hash = Buffer.from(m[5], 'base64');
  if (
    !Number.isInteger(Math.log2(n)) ||
    n < 1024 ||
    r < 1 ||
    r > 32 ||
    p < 1 ||
    p > 16 ||
    128 * n * r > MAX_MEM
  )
    return `scrypt parameters N=${n} r=${r} p=${p} out of range (N a power of 2 from 1024, r 1-32, p 1-16, 128·N·r at most 256 MiB)`;
  if (salt.length < 8 || hash.length < 16) return 'salt or hash too short (at least 8 and 16 bytes)';
  return { params: { N: n, r, p, maxmem: MAX_MEM }, salt, hash };
}

/** A storable hash of `password` with a fresh random salt (takes ~50 ms: for tools, not request paths). */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, KEY_LEN, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** What an unknown user is checked against: the same work as a real user, and no password matches it. */
const NOBODY: Hash = {
  params: { N, r: R, p: P, maxmem: MAX_MEM },
  salt: randomBytes(16),
  hash: randomBytes(KEY_LEN),
};

/**
 * Whether `user` is in `users` with this `password`. scrypt runs on libuv's thread pool, not the event loop,
 * and an unknown user costs the same as a known one, so the time taken does not tell which names exist.
 */
export async function verifyUser(
  users: Map<string, string>,
  user: string,
  password: string,
): Promise<boolean> {
  const stored = users.get(user);
  const parsed = stored === undefined ? NOBODY : parseHash(stored);
  const h = typeof parsed === 'string' ? NOBODY : parsed;
  const got = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, h.salt, h.hash.length, h.params, (e, key) => (e ? reject(e) : resolve(key))),
  );
  return h !== NOBODY && timingSafeEqual(got, h.hash);
}

/** The users of a file's text, and every malformed line with its number (never the text after the colon). */
function readUsers(text: string): { users: Map<string, string>; problems: string[] } {
  const users = new Map<string, string>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    // What follows the colon may be a password typed in clear by mistake: it is never echoed.
    const wrong = colon < 1 ? 'no "name:" at its start' : parseHash(line.slice(colon + 1));
    if (typeof wrong === 'string')
      problems.push(`line ${i + 1}${colon < 1 ? '' : ` (user "${name}")`}: ${wrong}`);
    else if (users.has(name)) problems.push(`line ${i + 1}: user "${name}" appears twice`);
    else users.set(name, line.slice(colon + 1));
  });
  return { users, problems };
}

/** Parses a users file; every malformed line is reported at once with its number. */
export function parseUsers(text: string, file: string, setting = 'usersFile'): Map<string, string> {
  const { users, problems } = readUsers(text);
  if (problems.length)
    throw new InspectdError(`users file ${file} (${setting}): ${problems.join('; ')}`, {
      subject: setting,
      value: file,
      fix: FORMAT_FIX,
    });
  return users;
}

const readFix = (setting: string): string =>
  `check ${setting}: the file must exist and be readable by the daemon (under systemd a LoadCredential= line, see systemd/inspectd.service)`;

/** The users of `file`, the file named by `setting`; an unreadable or malformed file throws, naming both. */
export function loadUsers(file: string, setting = 'usersFile'): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InspectdError(`users file ${file} (${setting}) cannot be read: ${messageOf(e)}`, {
      subject: setting,
      value: file,
      fix: readFix(setting),
    });
  }
  return parseUsers(text, file, setting);
}

/**
 * Everything wrong with the users file named by `setting`, one problem per bad line, for the checks before
 * start: a file that cannot be read, bad lines, and no users at all when `needUsers`.
 */
export function usersFileProblems(file: string, setting: string, needUsers: boolean): SettingProblem[] {
  const problem = (what: string, fix = FORMAT_FIX): SettingProblem => ({
    path: setting,
    given: `${JSON.stringify(file)} (${what})`,
    allowed: 'a readable file of "name:scrypt$..." lines',
    fix,
  });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return [problem(`cannot be read: ${messageOf(e)}`, readFix(setting))];
  }
  const { users, problems } = readUsers(text);
  if (problems.length) return problems.map((p) => problem(p));
  if (needUsers && users.size === 0)
    return [
      problem(
        'no users in it',
        `add one with \`inspectd hash-password NAME >> ${file}\`, or set ${setting} to ""`,
      ),
    ];
  return [];
}
