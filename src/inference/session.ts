import * as ort from 'onnxruntime-node';
import type { Logger } from 'pino';
import { InspectdError, messageOf } from '../core/errors.js';
import { onceFor } from '../log/logger.js';
import { oneLine, providerKinds, thisHost, type Host, type ProviderName } from './providers.js';

export { ortBinaryDir, PROVIDER_NAMES, type ProviderName } from './providers.js';

export interface SessionOptions {
  /** Tried in order; the first that loads wins, and the log says which and why others were skipped. */
  providers: ProviderName[];
  /** Intra-op threads for the CPU provider; 0 = onnxruntime's default (all cores). */
  threads: number;
}

export interface LoadedSession {
  session: ort.InferenceSession;
  provider: ProviderName;
  /** Set when the provider runs on a software renderer (e.g. "software Vulkan: lavapipe"): fine for tests, slow. */
  software?: string;
}

/**
 * Why a provider cannot be used on this box, found without trying it (a failed try makes onnxruntime print
 * an alarming error of its own), or undefined when it may work.
 */
export function providerUnavailable(p: ProviderName, host: Host = thisHost()): string | undefined {
  return providerKinds[p].unavailable(host);
}

// A failure repeats for every recipe loaded on the same box; one line per logger and reason is enough.
const warned = new WeakMap<Logger, Set<string>>();
function warnOnce(log: Logger, key: string, obj: object, msg: string): void {
  let seen = warned.get(log);
  if (!seen) warned.set(log, (seen = new Set()));
  if (seen.has(key)) return;
  seen.add(key);
  log.warn(obj, msg);
}

/**
 * A session for `model` (a file, or the bytes of a model composed in memory, named by `label` in messages) on
 * the first provider of `opts.providers` that loads it.
 */
export async function loadSession(
  model: string | Uint8Array,
  opts: SessionOptions,
  log: Logger,
  label: string = typeof model === 'string' ? model : 'model',
): Promise<LoadedSession> {
  const host = thisHost();
  const errors: string[] = [];
  for (const [i, provider] of opts.providers.entries()) {
    const next = i + 1 < opts.providers.length ? ', trying the next' : '';
    const kind = providerKinds[provider];
    const why = kind.unavailable(host);
    if (why) {
      errors.push(`${provider}: ${why}`);
      onceFor(log).info(`skip-${provider}`, { provider }, `execution provider ${provider} not used: ${why}`);
      continue;
    }
    try {
      const options: ort.InferenceSession.SessionOptions = {
        executionProviders: [kind.option],
        graphOptimizationLevel: 'all',
        ...(opts.threads > 0 ? { intraOpNumThreads: opts.threads } : {}),
      };
      const session =
        typeof model === 'string'
          ? await ort.InferenceSession.create(model, options)
          : await ort.InferenceSession.create(model, options);
      const software = kind.software?.(host);
      // A software renderer is far slower than the cpu provider: worth a warning, not a quiet note.
      if (software)
        log.warn(
          { provider, model: label, software },
          `model loaded on ${provider} (${software} — for tests, not production speed)`,
        );
      else log.info({ provider, model: label }, `model loaded on ${provider}`);
      return { session, provider, ...(software ? { software } : {}) };
    } catch (e) {
      const reason = kind.explain ? kind.explain(messageOf(e)) : oneLine(messageOf(e));
      errors.push(`${provider}: ${reason}`);
      warnOnce(
        log,
        `${provider}:${reason}`,
        { provider, model: label, err: reason },
        `execution provider ${provider} failed${next}: ${reason}`,
      );
    }
  }
  throw new InspectdError(`cannot load model ${label} on any execution provider:\n  ${errors.join('\n  ')}`, {
    subject: label,
    value: opts.providers,
    fix: 'check the file (is model.onnx.data beside it?) and inference.providers in the configuration (docs/gpu.md)',
  });
}

export { ort };
