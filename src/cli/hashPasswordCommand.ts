import { hashPassword } from '../core/users.js';
import { UsageError } from './common.js';

export const HASH_PASSWORD_USAGE = `usage: inspectd hash-password NAME

  Prints the users-file line "NAME:scrypt$..." for a password read from standard input (on a terminal it is
  asked twice and not shown). The file serves http.usersFile (web UI logins) and opcua.usersFile; append the
  line to it, then restart inspectd:

    inspectd hash-password anna >> /etc/inspectd/credentials/users

  Only the salted scrypt hash is written: the password is never on a command line or in the file.`;

const NAME = /^[^\s:#][^\s:]{0,63}$/;

/** The bytes typed on the terminal up to Enter, not echoed; Ctrl-C ends the command. */
function askHidden(prompt: string): Promise<string> {
  const input = process.stdin;
  process.stderr.write(prompt);
  input.setRawMode(true);
  input.resume();
  let typed = '';
  return new Promise((resolve, reject) => {
    const done = (fn: () => void): void => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
      fn();
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(() => resolve(typed));
        if (ch === '\u0003') return done(() => reject(new UsageError('cancelled')));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    input.on('data', onData);
  });
}

/** The first line of standard input (a pipe or a file). */
async function firstLine(): Promise<string> {
  let text = '';
  for await (const c of process.stdin as AsyncIterable<Buffer>) text += c.toString('utf8');
  return text.split(/\r?\n/)[0];
}

export async function hashPasswordCommand(argv: string[]): Promise<number> {
  if (argv.length !== 1 || argv[0].startsWith('-')) throw new UsageError(HASH_PASSWORD_USAGE);
  const name = argv[0];
  if (!NAME.test(name))
    throw new UsageError(`user name ${JSON.stringify(name)} is not usable`, {
      fix: 'give 1 to 64 characters without spaces or ":" (and not starting with "#")',
    });
  let password: string;
  if (process.stdin.isTTY) {
    password = await askHidden(`password for ${name}: `);
    if ((await askHidden('again: ')) !== password)
      throw new UsageError('the two passwords differ', { fix: 'run the command again' });
  } else password = await firstLine();
  if (password.length < 8)
    throw new UsageError(`the password for ${name} has ${password.length} characters`, {
      fix: 'give at least 8 (anyone on the line network may try to guess it)',
    });
  process.stdout.write(`${name}:${hashPassword(password)}\n`);
  return 0;
}
