/**
 * Puts a GigE camera into the state a line needs, by GenICam feature NAME: image format, exposure, gain, frame
 * rate, trigger mode, plus any extra features the configuration lists. Every change is read back and returned,
 * so the log shows what the camera actually runs with (cameras round to their increments).
 */
import { InspectdError, messageOf } from '../../core/errors.js';
import { FLOAT_TYPES, INT_TYPES, type NodeMap } from './genicam/nodeMap.js';
import type { GigeSettings } from './settings.js';

export type FeatureValue = string | number | boolean;

/** The settings that put the camera into shape (each is documented in settings.ts). */
export type CameraSettings = Pick<
  GigeSettings,
  | 'pixelFormat'
  | 'width'
  | 'height'
  | 'offsetX'
  | 'offsetY'
  | 'exposureUs'
  | 'gain'
  | 'frameRate'
  | 'trigger'
  | 'features'
>;

/** SFNC names first, then the GigE Vision 1.x names older cameras (and Aravis's fake camera) use. */
const ALIASES: Record<string, string[]> = {
  ExposureTime: ['ExposureTime', 'ExposureTimeAbs'],
  Gain: ['Gain', 'GainRaw'],
  AcquisitionFrameRate: ['AcquisitionFrameRate', 'AcquisitionFrameRateAbs'],
};

/** The first of a feature's names this camera implements, or undefined. */
export async function resolveFeature(nm: NodeMap, name: string): Promise<string | undefined> {
  for (const n of ALIASES[name] ?? [name]) if (nm.has(n) && (await nm.isImplemented(n))) return n;
  return undefined;
}

/** Sets one feature by name, whatever its node type, and returns the value read back. */
export async function setFeature(nm: NodeMap, name: string, value: FeatureValue): Promise<FeatureValue> {
  if (!nm.has(name))
    throw new InspectdError(`GenICam feature ${name} does not exist on this camera`, {
      subject: name,
      value,
      fix: 'check the spelling against the camera XML (inspectd logs the features it found at debug level)',
    });
  const type = nm.typeOf(name);
  const wrongType = (want: string): InspectdError =>
    new InspectdError(`GenICam feature ${name} is ${type}: ${JSON.stringify(value)} is not ${want}`, {
      subject: name,
      value,
      fix: `give ${want}`,
    });
  if (type === 'Enumeration') {
    if (typeof value !== 'string') throw wrongType('an entry name (a string)');
    await nm.setEnum(name, value);
    return nm.getEnum(name);
  }
  if (type === 'Boolean') {
    if (typeof value !== 'boolean') throw wrongType('true or false');
    await nm.setBoolean(name, value);
    return nm.getBoolean(name);
  }
  if (type === 'StringReg') {
    if (typeof value !== 'string') throw wrongType('a string');
    await nm.setString(name, value);
    return nm.getString(name);
  }
  if (INT_TYPES.has(type)) {
    if (typeof value !== 'number') throw wrongType('a number');
    await nm.setInteger(name, Math.round(value));
    return nm.getInteger(name);
  }
  if (FLOAT_TYPES.has(type)) {
    if (typeof value !== 'number') throw wrongType('a number');
    await nm.setFloat(name, value);
    return nm.getFloat(name);
  }
  throw new InspectdError(`GenICam feature ${name} is a ${type}, which cannot be set to a value`, {
    subject: name,
    value,
    fix:
      type === 'Command'
        ? 'commands are run by inspectd itself; remove it from features'
        : 'remove it from features',
  });
}

/** A setting the camera refused, with the feature's name: all are collected before failing. */
export interface SetupProblem {
  feature: string;
  value: FeatureValue;
  message: string;
}

/**
 * Applies `s` to a camera that is not acquiring. Returns what the camera reports back for every feature set;
 * throws one InspectdError listing every refused setting (so a commissioning engineer fixes them in one go).
 */
export async function configureCamera(nm: NodeMap, s: CameraSettings): Promise<Record<string, FeatureValue>> {
  const applied: Record<string, FeatureValue> = {};
  const problems: SetupProblem[] = [];
  const apply = async (name: string, value: FeatureValue, required = true): Promise<void> => {
    const resolved = await resolveFeature(nm, name);
    if (!resolved) {
      if (required)
        problems.push({
          feature: name,
          value,
          message: (ALIASES[name] ?? [name]).some((n) => nm.has(n))
            ? 'the camera does not implement this feature'
            : 'no such feature on this camera (names are case-sensitive, as in its GenICam XML)',
        });
      return;
    }
    try {
      applied[resolved] = await setFeature(nm, resolved, value);
    } catch (e) {
      problems.push({ feature: resolved, value, message: messageOf(e) });
    }
  };

  // Offsets first to 0, so a larger width/height fits; then size, then the requested offsets.
  if (s.pixelFormat) await apply('PixelFormat', s.pixelFormat);
  if (s.width > 0 || s.height > 0) {
    for (const o of ['OffsetX', 'OffsetY']) if (await resolveFeature(nm, o)) await apply(o, 0);
  }
  if (s.width > 0) await apply('Width', s.width);
  if (s.height > 0) await apply('Height', s.height);
  if (s.offsetX >= 0) await apply('OffsetX', s.offsetX);
  if (s.offsetY >= 0) await apply('OffsetY', s.offsetY);
  if (s.exposureUs > 0) await apply('ExposureTime', s.exposureUs);
  if (s.gain >= 0) await apply('Gain', s.gain);
  if (s.frameRate > 0) await apply('AcquisitionFrameRate', s.frameRate);

  // Trigger: the frame-start trigger where the camera has a selector.
  if (
    (await resolveFeature(nm, 'TriggerSelector')) &&
    (await nm.enumEntries('TriggerSelector')).includes('FrameStart')
  )
    await apply('TriggerSelector', 'FrameStart');
  if (s.trigger === 'software') {
    await apply('TriggerMode', 'On');
    await apply('TriggerSource', 'Software');
    if (!(await resolveFeature(nm, 'TriggerSoftware')))
      problems.push({
        feature: 'TriggerSoftware',
        value: true,
        message: 'the camera has no software trigger command',
      });
  } else {
    await apply('TriggerMode', 'Off', false);
  }
  await apply('AcquisitionMode', 'Continuous', false);

  for (const [name, value] of Object.entries(s.features)) await apply(name, value);

  if (problems.length)
    throw new InspectdError(
      `the camera refused ${problems.length} setting(s): ${problems
        .map((p) => `${p.feature} = ${JSON.stringify(p.value)}: ${p.message}`)
        .join('; ')}`,
      {
        subject: problems.map((p) => p.feature).join(', '),
        value: problems.map((p) => p.value),
        fix: 'correct these camera settings in the configuration (cameras[].source), then restart',
      },
    );
  return applied;
}
