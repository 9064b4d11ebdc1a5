import { flagName, type Flag, type Flags } from '../core/flags.js';
import { text } from '../core/settings.js';

// ---------------------------------------------------------------- usage text

const WIDTH = 110;

/** `first` and the words, in lines of at most WIDTH columns; lines after the first start with `indent`. */
function wrap(words: string[], first: string, indent: string): string {
  const lines = [first];
  for (const w of words)
    if (lines[lines.length - 1].length + w.length < WIDTH) lines[lines.length - 1] += ` ${w}`;
    else lines.push(`${indent}${w}`);
  return lines.join('\n');
}

const usageOf = (k: string, x: Flag): string => `--${flagName(k)}${x.value ? ` ${x.value}` : ''}`;

/** `usage: inspectd <words>` and the flags (the required ones, then the others in brackets). */
export const usageLine = (words: string, f: Flags): string =>
  wrap(
    Object.entries(f)
      .map(([k, x]) => (x.required ? usageOf(k, x) : `[${usageOf(k, x)}]`))
      .sort((a, b) => Number(a.startsWith('[')) - Number(b.startsWith('['))),
    `usage: inspectd ${words}`,
    ' '.repeat(9),
  );

/** One entry per flag: the flag and its doc, then what is allowed and the default. */
export function flagHelp(f: Flags): string {
  const indent = '    ';
  const width = Math.max(...Object.entries(f).map(([k, x]) => usageOf(k, x).length)) + 2;
  const pad = indent + ' '.repeat(width);
  return Object.entries(f)
    .map(([k, x]) => {
      const about = [
        x.format.input === 'boolean' || x.format.allowed === text().allowed ? '' : x.format.allowed,
        x.required ? 'required' : '',
        x.config ? `default: the configuration's ${x.config}` : '',
        x.default !== undefined && x.format.input !== 'boolean' ? `default ${String(x.default)}` : '',
      ].filter(Boolean);
      const doc = wrap(x.doc.split(' '), `${indent}${usageOf(k, x).padEnd(width - 1)}`, pad);
      return about.length ? `${doc}\n${pad}${about.join('; ')}` : doc;
    })
    .join('\n');
}
