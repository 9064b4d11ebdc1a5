import type http from 'node:http';
import type { Logger } from 'pino';
import { messageOf, NotFoundError } from '../../core/errors.js';
import type { LineControl } from '../../core/line.js';
import { MARK_KINDS, MAX_NOTE_CHARS, resultIdProblem, type MarkKind } from '../../core/review.js';
import type { Actor } from './access.js';

/** The header every operator action must carry: a page of another site cannot send it without our consent. */
export const ACTION_HEADER = 'x-inspectd-action';
const MAX_BODY_BYTES = 1024;

export interface ActionAnswer {
  status: number;
  body: unknown;
  /** Extra response headers (set-cookie, retry-after). */
  headers?: Record<string, string>;
}

export const fail = (status: number, error: string): ActionAnswer => ({ status, body: { error } });

/**
 * The shape every state-changing request must have (who may send it is access.ts's question): the action
 * header, which a browser adds to a cross-site request only after a CORS preflight this server never grants,
 * so another site open in the operator's browser cannot switch a recipe; and a JSON body.
 */
export function refuseAction(req: http.IncomingMessage): ActionAnswer | undefined {
  if (req.headers[ACTION_HEADER] === undefined)
    return fail(403, `an operator action needs the ${ACTION_HEADER} header (the web UI sends it)`);
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
    return fail(415, 'send the action as JSON (content-type: application/json)');
  return undefined;
}

/** The request's body as JSON, at most 1 KiB; or the answer when it is too long or not JSON. */
async function jsonBody(req: http.IncomingMessage): Promise<{ json: unknown } | { answer: ActionAnswer }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY_BYTES) {
      req.destroy();
      return { answer: fail(413, `an action is at most ${MAX_BODY_BYTES} bytes`) };
    }
    chunks.push(c);
  }
  try {
    return { json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
  } catch {
    return { answer: fail(400, 'the body is not valid JSON: send a JSON object, e.g. {"recipe": "<name>"}') };
  }
}

/** An operator action's JSON body, once `refuseAction` lets the request act; or the answer refusing it. */
export async function actionBody(
  req: http.IncomingMessage,
): Promise<{ json: unknown } | { answer: ActionAnswer }> {
  const refused = refuseAction(req);
  return refused ? { answer: refused } : jsonBody(req);
}

/**
 * POST /api/cameras/ID/recipe {"recipe": NAME}: the same switch MQTT and OPC UA make (loaded and warmed, then
 * swapped between two frames), to a recipe that exists, by `actor` (access.ts said who may). Logged with who
 * and where from.
 */
export async function switchRecipe(
  req: http.IncomingMessage,
  camera: string,
  control: LineControl,
  log: Logger,
  actor: Actor,
): Promise<ActionAnswer> {
  const body = await actionBody(req);
  if ('answer' in body) return body.answer;
  const recipe = (body.json as { recipe?: unknown } | null)?.recipe;
  if (typeof recipe !== 'string' || recipe === '')
    return fail(400, 'send {"recipe": "<name>"} with the name of a recipe folder');
  const unknown = unknownCamera(camera, control);
  if (unknown) return unknown;
  const known = await control.recipes();
  if (!known.includes(recipe))
    return fail(
      404,
      `recipe ${JSON.stringify(recipe)} is not in the recipes folder; recipes: ${known.join(', ')}`,
    );
  try {
    const active = await control.setRecipe(camera, recipe);
    log.info(
      { camera, recipe: active, from: actor.from, user: actor.user, via: 'web UI' },
      `web UI: camera ${camera} now inspects with recipe ${active} (${actor.origin})`,
    );
    return { status: 200, body: { camera, recipe: active } };
  } catch (e) {
    return fail(409, messageOf(e));
  }
}

function unknownCamera(camera: string, control: LineControl): ActionAnswer | undefined {
  return control.cameras.includes(camera)
    ? undefined
    : fail(
        404,
        `camera ${JSON.stringify(camera)} is not on this line; cameras: ${control.cameras.join(', ')}`,
      );
}

/**
 * POST /api/cameras/ID/threshold {"threshold": NUMBER}: the threshold of the recipe the camera inspects with,
 * for every camera on that recipe from the next frame; written into the recipe and entered in the audit trail
 * (GET /api/audit) with who set it and from where (`actor`, whom access.ts let act).
 */
export async function setThreshold(
  req: http.IncomingMessage,
  camera: string,
  control: LineControl,
  actor: Actor,
): Promise<ActionAnswer> {
  const body = await actionBody(req);
  if ('answer' in body) return body.answer;
  const threshold = (body.json as { threshold?: unknown } | null)?.threshold;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold))
    return fail(400, `send {"threshold": <number>}; got ${JSON.stringify(threshold) ?? 'nothing'}`);
  const unknown = unknownCamera(camera, control);
  if (unknown) return unknown;
  try {
    const entry = await control.setThreshold(camera, threshold, actor.origin);
    return { status: 200, body: entry };
  } catch (e) {
    return fail(409, messageOf(e));
  }
}

/**
 * POST /api/results/ID/mark {"mark": "false-reject" | "escape" | null, "note": TEXT}: an operator's finding on a
 * verdict (null clears it), kept with the verdict in the journal and entered in the audit trail with where it
 * came from. 404 for a verdict the journal does not have; 409 for a mark that does not fit it.
 */
export async function markVerdict(
  req: http.IncomingMessage,
  resultId: string,
  control: LineControl,
  actor: Actor,
): Promise<ActionAnswer> {
  const body = await actionBody(req);
  if ('answer' in body) return body.answer;
  const problem = resultIdProblem(resultId);
  if (problem) return fail(400, problem);
  const { mark, note = '' } = (body.json ?? {}) as { mark?: unknown; note?: unknown };
  if (mark !== null && !MARK_KINDS.includes(mark as MarkKind))
    return fail(
      400,
      `send {"mark": ${MARK_KINDS.map((k) => `"${k}"`).join(' | ')} | null, "note": "<text>"}; got mark ${JSON.stringify(mark) ?? 'nothing'}`,
    );
  if (typeof note !== 'string' || note.length > MAX_NOTE_CHARS)
    return fail(
      400,
      `"note" is text of at most ${MAX_NOTE_CHARS} characters; got ${JSON.stringify(note).slice(0, 40)}`,
    );
  try {
    const entry = control.mark(resultId, mark as MarkKind | null, note, actor.origin);
    return { status: 200, body: entry };
  } catch (e) {
    return fail(e instanceof NotFoundError ? 404 : 409, messageOf(e));
  }
}
