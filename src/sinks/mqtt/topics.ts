import { NAME } from '../../core/settings.js';
import type { Verdict } from '../../core/verdict.js';

/**
 * The MQTT contract (docs/MQTT.md), in one place. Bump VERDICT_SCHEMA on any incompatible payload change.
 *
 *   <prefix>/availability                      "online" | "offline"   retained; "offline" is the last will
 *   <prefix>/stats                             StatsPayload           every mqtt.statsIntervalSec
 *   <prefix>/<line>/<camera>/verdict           VerdictPayload         QoS 1, not retained
 *   <prefix>/<line>/<camera>/recipe/set        "name" | {"recipe","transaction"}   command
 *   <prefix>/<line>/<camera>/recipe/state      RecipeStatePayload     retained echo of the active recipe
 */
export const VERDICT_SCHEMA = 'inspectd/verdict/1';

export const topics = (prefix: string, line: string) => ({
  availability: `${prefix}/availability`,
  stats: `${prefix}/stats`,
  verdict: (camera: string) => `${prefix}/${line}/${camera}/verdict`,
  recipeSet: (camera: string) => `${prefix}/${line}/${camera}/recipe/set`,
  recipeSetWildcard: `${prefix}/${line}/+/recipe/set`,
  recipeState: (camera: string) => `${prefix}/${line}/${camera}/recipe/state`,
});

export interface VerdictPayload {
  schema: typeof VERDICT_SCHEMA;
  resultId: string;
  line: string;
  camera: string;
  recipe: string;
  modelVersion: string;
  partId: string | null;
  seq: number;
  verdict: 'OK' | 'NG';
  score: number;
  threshold: number;
  normalizedScore: number;
  regions: Verdict['regions'];
  timings: Verdict['timings'];
  capturedAt: string;
  decidedAt: string;
}

export interface RecipeStatePayload {
  recipe: string;
  status: 'ok' | 'error';
  error?: string;
  transaction?: string;
  at: string;
}

export function verdictPayload(v: Verdict, line: string): VerdictPayload {
  return {
    schema: VERDICT_SCHEMA,
    resultId: v.resultId,
    line,
    camera: v.cameraId,
    recipe: v.recipe,
    modelVersion: v.modelVersion,
    partId: v.partId ?? null,
    seq: v.seq,
    verdict: v.ok ? 'OK' : 'NG',
    score: v.score,
    threshold: v.threshold,
    normalizedScore: v.normalizedScore,
    regions: v.regions,
    timings: v.timings,
    capturedAt: new Date(v.capturedAt).toISOString(),
    decidedAt: new Date(v.decidedAt).toISOString(),
  };
}

/** Commands are small: anything larger is refused unread (and never echoed back). */
export const MAX_COMMAND_BYTES = 1024;

/** What of a bad payload a reply may quote: the start, printable. */
const quote = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);

/** Parses a recipe/set payload: a bare recipe name or {"recipe": "...", "transaction": "..."}. */
export function parseRecipeSet(
  payload: Buffer,
): { recipe: string; transaction?: string } | { error: string } {
  if (payload.length > MAX_COMMAND_BYTES)
    return {
      error: `payload of ${payload.length} bytes refused: a command is at most ${MAX_COMMAND_BYTES} bytes`,
    };
  const text = payload.toString('utf8').trim();
  let recipe: unknown = text;
  let transaction: unknown;
  if (text.startsWith('{')) {
    try {
      ({ recipe, transaction } = JSON.parse(text) as { recipe?: unknown; transaction?: unknown });
    } catch {
      return { error: `payload is not valid JSON: ${quote(text)}` };
    }
    if (typeof recipe !== 'string') return { error: 'JSON payload needs a "recipe" string' };
  }
  if (!recipe) return { error: 'empty payload: send a recipe name' };
  if (!NAME.test(recipe as string))
    return { error: `recipe name ${quote(recipe as string)} is not valid: 1-64 letters, digits, _ . -` };
  return {
    recipe: recipe as string,
    transaction: typeof transaction === 'string' ? transaction.slice(0, 64) : undefined,
  };
}
