import { access, constants, mkdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
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

/** A recipe folder written beside its final place and moved there only when complete. */
export interface StagedDir {
  /** Where the fit writes. */
  dir: string;
  /** Puts the finished folder in place (replacing an older recipe there) and returns its path. */
  commit(): Promise<string>;
  /** Removes everything the fit wrote; an output folder it created is removed too. */
  abandon(): Promise<void>;
}

/**
 * Stages a recipe output folder: the work goes to `<out>.partial-<pid>` in the same parent (so the final move is
 * a rename), and a fit that fails leaves nothing behind, nor half a recipe over an older one.
 */
export async function stageDir(out: string, what: string): Promise<StagedDir> {
  const final = path.resolve(out);
  const existed = await stat(final).then(
    (s) => s.isDirectory(),
    () => false,
  );
  await ensureWritableDir(final, what);
  const dir = `${final}.partial-${process.pid}`;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir);
  return {
    dir,
    async commit() {
      const old = `${final}.old-${process.pid}`;
      await rename(final, old);
      await rename(dir, final);
      await rm(old, { recursive: true, force: true });
      return final;
    },
    async abandon() {
      await rm(dir, { recursive: true, force: true });
      if (!existed) await rmdir(final).catch(() => undefined);
    },
  };
}
