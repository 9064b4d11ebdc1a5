import { access, constants, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InspectdError, messageOf } from '../core/errors.js';

/** Creates `dir` if needed and proves it is writable before hours of work would be lost at the end. */
export async function ensureWritableDir(dir: string, what: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    const probe = path.join(dir, `.inspectd-write-test-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe);
  } catch (e) {
    throw new InspectdError(`${what} ${dir} is not writable: ${messageOf(e)}`, {
      subject: dir,
      fix: 'choose a folder you can write to, or fix its permissions',
    });
  }
}
