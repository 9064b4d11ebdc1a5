import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests spawn the built CLI and run real ONNX sessions on a 2-core box: generous, not tight.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['test/globalSetup.ts'],
  },
});
