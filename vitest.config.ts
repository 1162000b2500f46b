import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real servers (sshd, smbd, databases) are started per file; two cores on CI.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
