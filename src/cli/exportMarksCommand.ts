import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { flags, withDefaults } from '../core/flags.js';
import { InspectdError, messageOf } from '../core/errors.js';
import { parseResultsQuery } from '../core/resultsQuery.js';
import {
  ARCHIVE_SUFFIX,
  archiveBase,
  exportFile,
  exportManifestCsv,
  MARK_KINDS,
  missingFrameReason,
  type ExportRow,
} from '../core/review.js';
import { nonEmpty, oneOf, text } from '../core/settings.js';
import { loadConfig } from '../config/load.js';
import { SqliteJournal } from '../journal/journal.js';
import { commandUsage, readCommandFlags, usageError } from './common.js';
import { QUERY_FLAGS } from './resultsCommand.js';

const EXPORT_FLAGS = flags({
  config: {
    doc: 'the configuration the daemon runs with (its journal.path and archive.dir)',
    format: text(),
    value: 'FILE',
  },
  out: {
    doc: 'the image set to write: a new folder (or an empty one)',
    format: nonEmpty('a folder'),
    required: true,
    value: 'DIR',
  },
  mark: {
    doc: 'which marks: any, or only false rejects or only escapes',
    format: oneOf(['any', ...MARK_KINDS]),
    default: 'any',
    value: 'MARK',
  },
  ...QUERY_FLAGS,
});

export const EXPORT_MARKS_USAGE = commandUsage(
  'export-marks',
  `  Writes the frames of the verdicts operators marked in the web UI's review (docs/web-ui.md) as an image set
  for the next fit, from the journal and the archive (safe beside a running daemon):
    DIR/test/good/     false rejects: good parts the recipe rejected (add them to fit --images)
    DIR/test/defect/   escapes: defective parts the recipe passed
    DIR/manifest.csv   every marked verdict: seq, time, camera, recipe, score, mark, note, the file and its source,
                       or why the archive has no frame of it (listed, not an error)
  inspectd eval --dataset DIR measures a recipe on them once both folders have images.`,
  EXPORT_FLAGS,
);

export async function exportMarksCommand(argv: string[]): Promise<number> {
  const v = withDefaults(EXPORT_FLAGS, readCommandFlags(argv, EXPORT_FLAGS, EXPORT_MARKS_USAGE));
  const { config: file, out, ...params } = v;
  const q = parseResultsQuery(params);
  if ('problems' in q) throw usageError(q.problems, EXPORT_MARKS_USAGE);
  const config = loadConfig(file);
  const target = path.resolve(out);
  if (existsSync(target) && readdirSync(target).length > 0)
    throw new InspectdError(`export folder ${target} is not empty`, {
      subject: '--out',
      value: out,
      fix: 'give a new folder: an export never writes over files',
    });
  const journal = SqliteJournal.openReadOnly(config.journal);
  let verdicts;
  let marks;
  try {
    verdicts = journal.query(q.filter).verdicts;
    marks = journal.marks(verdicts.map((x) => x.resultId));
  } finally {
    journal.close();
  }
  if (verdicts.length === 0)
    throw new InspectdError(
      `no marked verdicts match (${describe(params)}) in journal ${config.journal.path}`,
      {
        subject: '--mark',
        value: params.mark,
        fix: "mark verdicts in the web UI's Review page, or widen --mark, --from, --to, --camera, --recipe",
      },
    );
  // Relative to the current folder, as the daemon resolves it from where it started.
  const archive = config.archive.dir === '' ? '' : path.resolve(config.archive.dir);
  const rows: ExportRow[] = verdicts.reverse().map((verdict) => {
    const mark = marks.get(verdict.resultId)!;
    const source = archive && `${archiveBase(archive, verdict)}${ARCHIVE_SUFFIX.frame}`;
    return source && existsSync(source)
      ? { verdict, mark, source, file: exportFile(verdict, mark.kind), missing: '' }
      : { verdict, mark, source: '', file: '', missing: missingFrameReason(verdict, config.archive) };
  });
  await writeImageSet(target, rows);
  const written = rows.filter((r) => r.file);
  const good = written.filter((r) => r.mark.kind === 'false-reject').length;
  process.stdout.write(
    `export-marks: ${written.length} frames written to ${target} (${good} in test/good, ${written.length - good} in test/defect), manifest.csv lists all ${rows.length} marked verdicts\n`,
  );
  const missing = rows.length - written.length;
  if (missing)
    process.stderr.write(
      `export-marks: ${missing} marked verdicts have no archived frame (manifest.csv's "missing" column says why)\n`,
    );
  return 0;
}

const describe = (p: Record<string, string | undefined>): string =>
  Object.entries(p)
    .filter(([, x]) => x !== undefined)
    .map(([k, x]) => `${k} ${x}`)
    .join(', ');

/**
 * Writes the set beside `target` and renames it into place when complete: a failed export leaves nothing, and a
 * folder someone reads is never half written.
 */
async function writeImageSet(target: string, rows: readonly ExportRow[]): Promise<void> {
  const partial = `${target}.partial-${process.pid}`;
  try {
    await mkdir(partial, { recursive: true });
    for (const r of rows.filter((x) => x.file)) {
      const to = path.join(partial, r.file);
      await mkdir(path.dirname(to), { recursive: true });
      await copyFile(r.source, to).catch((e: unknown) => {
        throw new InspectdError(`archived frame ${r.source} cannot be copied: ${messageOf(e)}`, {
          subject: r.source,
          fix: 'run the export as a user that may read the archive folder and write the --out folder',
        });
      });
    }
    await writeFile(path.join(partial, 'manifest.csv'), exportManifestCsv(rows));
    if (existsSync(target)) await rmdir(target);
    await rename(partial, target);
  } catch (e) {
    await rm(partial, { recursive: true, force: true });
    if (e instanceof InspectdError) throw e;
    throw new InspectdError(`export folder ${target} cannot be written: ${messageOf(e)}`, {
      subject: '--out',
      value: target,
      fix: 'give a folder in a place this user may write',
    });
  }
}
