import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Stops any server process a test file left running (test/support/children.ts).
    setupFiles: ['test/support/setup.ts'],
    // A skipped or focused test must never pass CI unnoticed.
    allowOnly: false,
    // The JSON results let .ci/run close with a plain "N passed, N failed" line.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
  },
});
