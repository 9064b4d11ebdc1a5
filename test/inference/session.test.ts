import { existsSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadSession, ortBinaryDir, providerUnavailable } from '../../src/inference/session.js';
import { SHARED_BACKBONE } from '../helpers/paths.js';

/** Collects log records in memory. */
function memoryLogger(): { log: pino.Logger; records: { msg: string; provider?: string }[] } {
  const records: { msg: string; provider?: string }[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void records.push(JSON.parse(line) as { msg: string }) },
  );
  return { log, records };
}

const cudaLibPresent = existsSync(path.join(ortBinaryDir(), 'libonnxruntime_providers_cuda.so'));

describe('execution providers', () => {
  it('cpu is always available', () => {
    expect(providerUnavailable('cpu')).toBeUndefined();
  });

  it.skipIf(cudaLibPresent)(
    'without the CUDA provider library: cuda is skipped with the reason, once, and the model runs on cpu',
    async () => {
      expect(providerUnavailable('cuda')).toMatch(/libonnxruntime_providers_cuda\.so is missing/);
      const { log, records } = memoryLogger();
      const a = await loadSession(SHARED_BACKBONE, { providers: ['cuda', 'cpu'], threads: 1 }, log);
      const b = await loadSession(SHARED_BACKBONE, { providers: ['cuda', 'cpu'], threads: 1 }, log);
      expect([a.provider, b.provider]).toEqual(['cpu', 'cpu']);
      expect(records.filter((r) => r.msg.startsWith('execution provider cuda not used'))).toHaveLength(1);
      expect(records.filter((r) => r.msg === 'model loaded on cpu')).toHaveLength(2);
      await Promise.all([a.session.release(), b.session.release()]);
    },
  );

  it('no usable provider: one error listing why each failed', async () => {
    const { log } = memoryLogger();
    await expect(
      loadSession('/nonexistent/model.onnx', { providers: ['cpu'], threads: 1 }, log),
    ).rejects.toThrow(/cannot load model \/nonexistent\/model\.onnx on any execution provider:\n\s+cpu: /);
  });
});
