import { int, items, kinds, name, oneOf, required, type KindValue } from '../core/settings.js';
import { sourceKinds } from '../sources/index.js';

/** One camera of the `cameras` list: its pipeline's source, recipe, queue and decision settings. */
export const cameraSettings = {
  id: {
    doc: 'Camera name: MQTT topics, OPC UA, metrics and logs use it.',
    format: name(),
    default: required<string>(),
  },
  recipe: {
    doc: 'Recipe folder under `recipesDir` this camera starts with (switchable over MQTT and OPC UA).',
    format: name(),
    default: required<string>(),
  },
  source: {
    doc: 'Where frames come from: {"type": <kind>, ...the kind\'s settings below}.',
    format: kinds(Object.fromEntries(Object.entries(sourceKinds).map(([k, v]) => [k, v.settings]))),
    default: required<KindValue>(),
  },
  queue: {
    size: {
      doc: 'Frames that may wait for inspection; beyond it the policy applies.',
      format: int(1, 1000),
      default: 4,
    },
    policy: {
      doc: "When the queue is full: drop-oldest (live cameras), drop-newest, wait (folders: nothing lost), or auto = the source kind's (wait for folder, drop-oldest for the others).",
      format: oneOf(['auto', 'drop-oldest', 'drop-newest', 'wait']),
      default: 'auto',
    },
  },
  decision: {
    minRegionArea: {
      doc: 'Defect regions smaller than this (pixels of the recipe input) are not reported.',
      format: int(1, 1 << 24),
      default: 16,
    },
    maxRegions: {
      doc: 'At most this many defect regions per verdict, highest peak first.',
      format: int(0, 1000),
      default: 16,
    },
  },
};

export const camerasSetting = {
  doc: 'The cameras, one pipeline each: id, recipe, source {type, ...}, queue, decision (rows cameras[].* below).',
  format: items(cameraSettings, 'camera', 'id'),
  // Camera URLs carry credentials: never echoed whole.
  sensitive: true,
  default: [],
};
