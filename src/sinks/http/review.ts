import { readFile } from 'node:fs/promises';
import type { Journal } from '../../core/history.js';
import type { LineControl } from '../../core/line.js';
import { resultIdProblem } from '../../core/review.js';

/** An answer of the review's read-only paths. */
export interface ReviewAnswer {
  status: number;
  type: string;
  body: string | Buffer;
}

const text = (status: number, body: string): ReviewAnswer => ({
  status,
  type: 'text/plain; charset=utf-8',
  body: `${body}\n`,
});
const json = (body: unknown): ReviewAnswer => ({
  status: 200,
  type: 'application/json',
  body: JSON.stringify(body),
});

const DETAIL = /^\/api\/results\/([^/]+)$/;
const PICTURE = /^\/api\/archive\/([^/]+)\/(frame|overlay)\.png$/;

/**
 * The NG review's reads: one verdict with its mark and where its archived pictures are
 * (`/api/results/ID`), and the pictures (`/api/archive/ID/frame.png`, `overlay.png`). An id is checked before
 * anything is looked up, and a picture's file is the one the archive keeps for a verdict the journal has, inside
 * the archive folder: no path a client writes reaches the disk. Undefined for any other path.
 */
export async function reviewAnswer(
  pathname: string,
  journal: Journal,
  control: LineControl,
): Promise<ReviewAnswer | undefined> {
  const m = DETAIL.exec(pathname) ?? PICTURE.exec(pathname);
  if (!m) return undefined;
  const id = m[1];
  const problem = resultIdProblem(id);
  if (problem) return text(400, problem);
  const verdict = journal.get(id);
  if (!verdict)
    return text(
      404,
      `the journal has no verdict ${id}: give a resultId /api/results lists (retention deletes unmarked verdicts past journal.retainDays)`,
    );
  const archived = await control.archived(verdict);
  if (m[2] === undefined) {
    const pictures =
      'missing' in archived
        ? archived
        : { frame: `/api/archive/${id}/frame.png`, overlay: `/api/archive/${id}/overlay.png` };
    return json({ verdict, mark: journal.marks([id]).get(id) ?? null, archive: pictures });
  }
  if ('missing' in archived) return text(404, `verdict ${id} has no archived picture: ${archived.missing}`);
  // Gone between the look and the read (retention): the same answer as missing.
  const body = await readFile(m[2] === 'frame' ? archived.frame : archived.overlay).catch(() => undefined);
  return body
    ? { status: 200, type: 'image/png', body }
    : text(404, `verdict ${id}'s archived picture was just removed by retention`);
}
