import * as ort from 'onnxruntime-node';
import type { Logger } from 'pino';
import { InspectdError, messageOf } from '../core/errors.js';

export type ProviderName = 'cuda' | 'cpu';

export interface SessionOptions {
  /** Tried in order; the first that loads wins, and the log says which and why others were skipped. */
  providers: ProviderName[];
  /** Intra-op threads for the CPU provider; 0 = onnxruntime's default (all cores). */
  threads: number;
}

export interface LoadedSession {
  session: ort.InferenceSession;
  provider: ProviderName;
}

/** Why a provider cannot be used on this box before even trying it, or undefined. */
function providerUnavailable(p: ProviderName): string | undefined {
  if (p === 'cuda' && process.arch !== 'x64') {
    return `no prebuilt CUDA provider for ${process.arch} (Jetson needs onnxruntime built from source)`;
  }
  return undefined;
}

export async function loadSession(
  modelPath: string,
  opts: SessionOptions,
  log: Logger,
): Promise<LoadedSession> {
  const errors: string[] = [];
  for (const provider of opts.providers) {
    const why = providerUnavailable(provider);
    if (why) {
      errors.push(`${provider}: ${why}`);
      log.info({ provider, model: modelPath }, `execution provider ${provider} skipped: ${why}`);
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        ...(opts.threads > 0 ? { intraOpNumThreads: opts.threads } : {}),
      });
      log.info({ provider, model: modelPath }, `model loaded on ${provider}`);
      return { session, provider };
    } catch (e) {
      errors.push(`${provider}: ${messageOf(e)}`);
      log.warn(
        { provider, model: modelPath, err: messageOf(e) },
        `execution provider ${provider} failed, trying the next`,
      );
    }
  }
  throw new InspectdError(
    `cannot load model ${modelPath} on any execution provider:\n  ${errors.join('\n  ')}`,
    {
      subject: modelPath,
      fix: 'check the file (is model.onnx.data beside it?) and inference.providers in the configuration',
    },
  );
}

export { ort };
