import { readFileSync } from 'node:fs';

/** inspectd's version, from package.json (dist/ and src/ sit at the same depth below it). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
