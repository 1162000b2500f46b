import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real servers (sshd, smbd, databases) are started per file; two cores on CI. The suite is
    // mostly CPU-bound there (its CPU time is about 1.7 times its wall time with two workers):
    // a third worker did not make it faster where it was tried, and a time-bounded test failed.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
