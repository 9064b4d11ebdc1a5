import type { DropPolicy } from '../pipeline/boundedQueue.js';
import { sourceKinds } from '../sources/index.js';
import { applySpecs, checks, specRows, type OptionSpecs, type Problem } from './options.js';

export interface CameraConfig {
  id: string;
  /** Recipe folder name under `recipesDir`. */
  recipe: string;
  source: { type: string; options: Record<string, unknown> };
  queue: { size: number; policy: DropPolicy };
  decision: { minRegionArea: number; maxRegions: number };
}

const queueSpec: OptionSpecs<CameraConfig['queue']> = {
  size: {
    doc: 'Frames that may wait for inspection; beyond it the policy applies.',
    default: 4,
    check: checks.int(1, 1000),
  },
  policy: {
    doc: 'When the queue is full: drop-oldest (live cameras), drop-newest, or wait (folders: nothing lost).',
    default: 'drop-oldest',
    check: checks.oneOf(['drop-oldest', 'drop-newest', 'wait']),
  },
};
const decisionSpec: OptionSpecs<CameraConfig['decision']> = {
  minRegionArea: {
    doc: 'Defect regions smaller than this (pixels of the recipe input) are not reported.',
    default: 16,
    check: checks.int(1, 1 << 24),
  },
  maxRegions: {
    doc: 'At most this many defect regions per verdict, highest peak first.',
    default: 16,
    check: checks.int(0, 1000),
  },
};

/** The source kind's queue policy unless the camera sets one (a non-object is passed on to be reported). */
function withDefaultPolicy(queue: unknown, policy: string | undefined): unknown {
  if (queue !== undefined && (typeof queue !== 'object' || queue === null || Array.isArray(queue)))
    return queue;
  return { policy, ...(queue as object | undefined) };
}

/** Validates the camera list: every problem with its key path (cameras[1].source.fps), defaults filled in. */
export function validateCameras(value: unknown, problems: Problem[]): CameraConfig[] {
  if (!Array.isArray(value)) {
    problems.push({ key: 'cameras', message: `must be a list of cameras, got ${JSON.stringify(value)}` });
    return [];
  }
  const ids = new Set<string>();
  return value.map((raw: unknown, i) => {
    const at = `cameras[${i}]`;
    const c = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    for (const [k, check] of [
      ['id', checks.name()],
      ['recipe', checks.name()],
    ] as const) {
      const err = check(c[k]);
      if (err) problems.push({ key: `${at}.${k}`, message: `${err}, got ${JSON.stringify(c[k])}` });
    }
    if (typeof c.id === 'string') {
      if (ids.has(c.id))
        problems.push({
          key: `${at}.id`,
          message: `"${c.id}" is used by another camera; ids must be unique`,
        });
      ids.add(c.id);
    }
    for (const k of Object.keys(c)) {
      if (!['id', 'recipe', 'source', 'queue', 'decision'].includes(k))
        problems.push({
          key: `${at}.${k}`,
          message: 'unknown setting (typo?); known here: id, recipe, source, queue, decision',
        });
    }
    const src = (c.source && typeof c.source === 'object' ? c.source : {}) as Record<string, unknown>;
    const kind = sourceKinds[src.type as string];
    let options: Record<string, unknown> = {};
    if (!kind) {
      problems.push({
        key: `${at}.source.type`,
        message: `must be one of ${Object.keys(sourceKinds).join(', ')}, got ${JSON.stringify(src.type)}`,
      });
    } else {
      const { type: _type, ...rest } = src;
      options = applySpecs(
        kind.options as OptionSpecs<Record<string, unknown>>,
        rest,
        `${at}.source`,
        problems,
      );
    }
    return {
      id: String(c.id),
      recipe: String(c.recipe),
      source: { type: String(src.type), options },
      queue: applySpecs(
        queueSpec,
        withDefaultPolicy(c.queue, kind?.defaultDropPolicy),
        `${at}.queue`,
        problems,
      ),
      decision: applySpecs(decisionSpec, c.decision, `${at}.decision`, problems),
    };
  });
}

/** Reference rows for docs/CONFIG.md. */
export function cameraReference(): string[] {
  const rows = [
    '| `cameras[].id` | | | Camera name: MQTT topics, metrics and logs use it. Letters, digits, _ . - |',
    '| `cameras[].recipe` | | | Recipe folder under `recipesDir` this camera starts with (switchable over MQTT). |',
    ...specRows(queueSpec as OptionSpecs<unknown>, 'cameras[].queue.'),
    ...specRows(decisionSpec as OptionSpecs<unknown>, 'cameras[].decision.'),
  ];
  for (const [type, kind] of Object.entries(sourceKinds)) {
    rows.push(`| \`cameras[].source.type\` = \`${type}\` | | | |`);
    rows.push(...specRows(kind.options as OptionSpecs<unknown>, 'cameras[].source.'));
  }
  return rows;
}
