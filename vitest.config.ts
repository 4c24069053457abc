import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Suites start real worker threads and servers; run files one at a time so two hammer
    // tests never fight over the machine's two cores and skew each other's timeouts.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
