import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Logger } from 'pino';
import { InspectdError, messageOf } from '../core/errors.js';
import { onceFor } from '../log/logger.js';

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

/** Where onnxruntime-node keeps its native libraries (the CUDA provider goes beside them). */
export function ortBinaryDir(): string {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  return path.resolve(path.dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/**
 * Why a provider cannot be used on this box, found without trying it (a failed try makes onnxruntime print
 * an alarming error of its own), or undefined when it may work.
 */
export function providerUnavailable(p: ProviderName): string | undefined {
  if (p !== 'cuda') return undefined;
  if (process.arch !== 'x64') {
    return `no prebuilt CUDA provider for ${process.platform}/${process.arch} (a Jetson needs onnxruntime built from source)`;
  }
  const lib = path.join(ortBinaryDir(), 'libonnxruntime_providers_cuda.so');
  if (!existsSync(lib)) {
    return `the CUDA provider library is not installed (${lib} is missing; see README "GPU")`;
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
      onceFor(log).info(`skip-${provider}`, { provider }, `execution provider ${provider} not used: ${why}`);
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
