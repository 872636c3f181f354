import { defineConfig } from 'vitest/config';

// The interop suite builds network namespaces and runs strongSwan as root.
// One worker, one file at a time: the labs use unique names, but running them
// one after another keeps the timing measurements meaningful.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/interop/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
