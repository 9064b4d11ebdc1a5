import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InspectdError, messageOf } from '../../core/errors.js';

/**
 * OPC UA users: a file of `name:scrypt$N$r$p$salt$hash` lines (salt and hash base64). Only hashes are stored,
 * so the file (or a systemd credential) never holds a password in clear.
 */

const N = 16384;
const R = 8;
const P = 1;
const KEY_LEN = 32;

/** A storable hash of `password` with a fresh random salt. */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, KEY_LEN, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** True when `password` matches `stored` (constant time on the hash); false for a malformed `stored`. */
export function verifyPassword(password: string, stored: string): boolean {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const expected = Buffer.from(m[5], 'base64');
  const got = scryptSync(password, Buffer.from(m[4], 'base64'), expected.length, {
    N: Number(m[1]),
    r: Number(m[2]),
    p: Number(m[3]),
    maxmem: 256 * 1024 * 1024,
  });
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** Parses a users file; every malformed line is reported at once with its number. */
export function parseUsers(text: string, file: string): Map<string, string> {
  const users = new Map<string, string>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (colon < 1 || !/^scrypt\$/.test(hash))
      problems.push(`line ${i + 1}: expected name:scrypt$..., got "${line.slice(0, 40)}"`);
    else if (users.has(name)) problems.push(`line ${i + 1}: user "${name}" appears twice`);
    else users.set(name, hash);
  });
  if (problems.length)
    throw new InspectdError(`OPC UA users file ${file}: ${problems.join('; ')}`, {
      subject: file,
      fix: 'one "name:hash" line per user, hashes made as docs/OPCUA.md shows',
    });
  return users;
}

export function loadUsers(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InspectdError(`OPC UA users file ${file} cannot be read: ${messageOf(e)}`, {
      subject: file,
      fix: 'check opcua.usersFile (with systemd: LoadCredential=opcua-users:...)',
    });
  }
  return parseUsers(text, file);
}
