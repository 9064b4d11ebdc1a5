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

/** Parses a recipe/set payload: a bare recipe name or {"recipe": "...", "transaction": "..."}. */
export function parseRecipeSet(
  payload: string,
): { recipe: string; transaction?: string } | { error: string } {
  const text = payload.trim();
  if (text.startsWith('{')) {
    try {
      const o = JSON.parse(text) as { recipe?: unknown; transaction?: unknown };
      if (typeof o.recipe !== 'string' || !o.recipe) return { error: 'JSON payload needs a "recipe" string' };
      return { recipe: o.recipe, transaction: typeof o.transaction === 'string' ? o.transaction : undefined };
    } catch {
      return { error: `payload is not valid JSON: ${text.slice(0, 80)}` };
    }
  }
  return text ? { recipe: text } : { error: 'empty payload: send a recipe name' };
}
