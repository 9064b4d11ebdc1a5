import path from 'node:path';
import { csvTable } from './csv.js';
import type { Verdict } from './verdict.js';

/**
 * The NG review: an operator's marks on verdicts, where the archive keeps a verdict's pictures, and the image
 * set the marks make for the next fit. Pure: the journal stores marks, the app and the CLI touch the disk.
 */

/** `false-reject`: an NG verdict on a good part; `escape`: an OK verdict on a defective part. */
export const MARK_KINDS = ['false-reject', 'escape'] as const;
export type MarkKind = (typeof MARK_KINDS)[number];

/** An operator's mark on a verdict, kept with it in the journal. */
export interface Mark {
  kind: MarkKind;
  /** Free text, e.g. what the part really was; '' when none. */
  note: string;
  /** When it was set (epoch ms). */
  at: number;
  /** Where it came from, e.g. "web UI, 127.0.0.1". */
  origin: string;
}

/** A verdict's notes are short: they travel in a 1 KiB action body and in CSV cells. */
export const MAX_NOTE_CHARS = 300;

/** Result ids as the pipeline makes them (UUIDs) and tests (r-000001-123): nothing a path could climb out with. */
const RESULT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Why `id` (from a URL) is not a result id; undefined when it is one. */
export function resultIdProblem(id: string): string | undefined {
  return RESULT_ID.test(id)
    ? undefined
    : `${JSON.stringify(id.slice(0, 80))} is not a result id: give a verdict's resultId (letters, digits, _ . -; as /api/results lists them)`;
}

/** Why `kind` cannot mark verdict `v`; undefined when it can (clearing, null, always can). */
export function markProblem(v: Verdict, kind: MarkKind | null): string | undefined {
  if (kind === 'false-reject' && v.ok)
    return `verdict ${v.resultId} is OK: a false reject is an NG verdict on a good part; mark it escape if the part was defective`;
  if (kind === 'escape' && !v.ok)
    return `verdict ${v.resultId} is NG: an escape is an OK verdict on a defective part; mark it false-reject if the part was good`;
  return undefined;
}

/** The files the archive keeps of a verdict, by their suffix after the common base. */
export const ARCHIVE_SUFFIX = { frame: '.png', overlay: '.heatmap.png', verdict: '.json' } as const;

/**
 * Where the archive keeps a verdict: `<dir>/<camera>/<date>/<time>_<resultId>` + a suffix (UTC date and time of
 * the decision). Camera ids are names (no / or spaces) and result ids are checked, so the base stays in `dir`.
 */
export function archiveBase(dir: string, v: Pick<Verdict, 'cameraId' | 'resultId' | 'decidedAt'>): string {
  const iso = new Date(v.decidedAt).toISOString();
  return path.join(
    dir,
    v.cameraId,
    iso.slice(0, 10),
    `${iso.slice(11, 23).replace(/[:.]/g, '')}_${v.resultId}`,
  );
}

/** The result id of an archived frame from its base name (`<time>_<resultId>`). */
export const resultIdOfBase = (base: string): string => path.basename(base).replace(/^[^_]*_/, '');

/** True when `file` lies inside `dir` (both absolute): the archive endpoint serves nothing else. */
export function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** What the archive settings say about a verdict it has no frame of, for the operator. */
export function missingFrameReason(
  v: Pick<Verdict, 'ok'>,
  a: { dir: string; okSampleRate: number; maxFiles: number; maxBytes: number },
): string {
  if (a.dir === '') return 'the archive is off (archive.dir is empty): set archive.dir to keep NG frames';
  if (v.ok)
    return a.okSampleRate > 0
      ? `OK frames are archived only as a sample (archive.okSampleRate ${a.okSampleRate}): this one was not kept, or retention removed it`
      : 'OK frames are not archived (archive.okSampleRate 0): raise it to keep a sample of them';
  return `the archive no longer holds this frame: it keeps the newest ${a.maxFiles} frames and ${a.maxBytes} bytes (archive.maxFiles, archive.maxBytes; marked verdicts are kept), and skips frames the disk cannot take`;
}

/** An entry in the image set for the next fit: one marked verdict, and where its frame went or why it is missing. */
export interface ExportRow {
  verdict: Verdict;
  mark: Mark;
  /** The archived frame copied, absolute; '' when missing. */
  source: string;
  /** Its path in the image set, relative to it; '' when missing. */
  file: string;
  /** Why there is no frame; '' when there is one. */
  missing: string;
}

/**
 * The image set's layout, MVTec's test half so `inspectd eval --dataset OUT` reads it as it is: false rejects
 * are good parts (`test/good/`, also good images for `fit --images`), escapes defective ones (`test/defect/`).
 * Names sort by time and carry the camera and result id.
 */
export function exportFile(v: Pick<Verdict, 'cameraId' | 'resultId' | 'decidedAt'>, kind: MarkKind): string {
  const t = new Date(v.decidedAt).toISOString().replace(/[-:.]/g, '').slice(0, 18);
  return path.join(
    'test',
    kind === 'false-reject' ? 'good' : 'defect',
    `${t}_${v.cameraId}_${v.resultId}.png`,
  );
}

const MANIFEST_COLUMNS = [
  'resultId',
  'seq',
  'decidedAt',
  'camera',
  'recipe',
  'partId',
  'verdict',
  'score',
  'threshold',
  'mark',
  'note',
  'markedAt',
  'markedFrom',
  'file',
  'source',
  'missing',
] as const;

/** The image set's manifest: one line per marked verdict, its frame's file or why it is missing (RFC 4180). */
export function exportManifestCsv(rows: readonly ExportRow[]): string {
  const lines = rows.map(({ verdict: v, mark: m, source, file, missing }) => [
    v.resultId,
    v.seq,
    new Date(v.decidedAt).toISOString(),
    v.cameraId,
    v.recipe,
    v.partId ?? '',
    v.ok ? 'OK' : 'NG',
    v.score,
    v.threshold,
    m.kind,
    m.note,
    new Date(m.at).toISOString(),
    m.origin,
    file.split(path.sep).join('/'),
    source,
    missing,
  ]);
  return csvTable(MANIFEST_COLUMNS, lines);
}
